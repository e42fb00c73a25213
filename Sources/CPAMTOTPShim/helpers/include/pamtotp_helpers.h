#ifndef PAMTOTP_HELPERS_H
#define PAMTOTP_HELPERS_H

#include <security/pam_appl.h>

/* Helpers for libpam functions Swift cannot call directly. Each says why it exists. */

/* pam_syslog is variadic. The message is always passed as an argument to "%s", never as the
   format, so nothing a user or a file supplies can be read as a format string. */
void pamtotp_syslog(pam_handle_t *pamh, int priority, const char *message);

/* pam_prompt is variadic. Asks one question through the application's conversation function;
   on success *response is a malloc'd string the caller must cleanse and free. */
int pamtotp_prompt(pam_handle_t *pamh, int style, const char *text, char **response);

/* Overwrites and frees a response returned by pamtotp_prompt. Uses explicit_bzero, which the
   compiler may not remove, and exists so Swift never frees memory libpam allocated with a
   different allocator assumption. */
void pamtotp_free_response(char *response);

#endif
