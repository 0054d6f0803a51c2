#include "internal.h"

const char *hd_version(void) { return HD_VERSION_STRING; }

unsigned hd_version_number(void) { return HD_VERSION_NUMBER; }
