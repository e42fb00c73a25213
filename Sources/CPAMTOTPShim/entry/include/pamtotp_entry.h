#ifndef PAMTOTP_ENTRY_H
#define PAMTOTP_ENTRY_H
/* The module's entry points are declared by <security/pam_modules.h>; nothing else is public. */
#include <security/pam_modules.h>
#endif
