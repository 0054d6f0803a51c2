/* Definitions shared by every public header: the export macro and C++
 * linkage guards. Users do not include this file directly; hodos.h and the
 * other headers do. */
#ifndef HODOS_COMMON_H
#define HODOS_COMMON_H

#if defined(HD_BUILDING_LIBRARY) && defined(__GNUC__)
#define HD_API __attribute__((visibility("default")))
#else
#define HD_API
#endif

#if defined(__GNUC__)
#define HD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HD_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define HD_BEGIN_DECLS extern "C" {
#define HD_END_DECLS }
#else
#define HD_BEGIN_DECLS
#define HD_END_DECLS
#endif

#endif
