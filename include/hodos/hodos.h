/* hodos: run computations declared as a DAG in parallel.
 * Include this header to get the whole public API. */
#ifndef HODOS_H
#define HODOS_H

#include "backend.h"
#include "common.h"
#include "error.h"
#include "event.h"
#include "graph.h"
#include "log.h"
#include "pool.h"
#include "run.h"
#include "store.h"
#include "task.h"
#include "value.h"
#include "version.h"
#include "worker.h"
#include "workflow.h"

#endif
