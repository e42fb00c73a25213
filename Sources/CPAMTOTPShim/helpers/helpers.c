#include "pamtotp_helpers.h"

#include <security/pam_ext.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

void pamtotp_syslog(pam_handle_t *pamh, int priority, const char *message) {
    pam_syslog(pamh, priority, "%s", message);
}

int pamtotp_prompt(pam_handle_t *pamh, int style, const char *text, char **response) {
    return pam_prompt(pamh, style, response, "%s", text);
}

void pamtotp_free_response(char *response) {
    if (response == NULL) return;
    explicit_bzero(response, strlen(response));
    free(response);
}
