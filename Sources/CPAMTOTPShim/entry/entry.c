/* The PAM service functions pam_totp implements. They exist in C so that their prototypes are
   checked against <security/pam_modules.h>; each forwards into Swift (PAMTOTP/Entry.swift). */
#define PAM_SM_AUTH
#include <security/pam_modules.h>

/* Defined in Swift with @_cdecl. */
extern int pamtotp_swift_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    return pamtotp_swift_authenticate(pamh, flags, argc, argv);
}

/* pam_totp establishes no credentials; succeeding here keeps "auth" stacks that call setcred
   (login, sshd) from failing after a successful authentication. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh; (void)flags; (void)argc; (void)argv;
    return PAM_SUCCESS;
}
