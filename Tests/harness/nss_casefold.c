/* nss_casefold: makes user look-ups ignore case, as SSSD's AD provider and most LDAP directories do,
   for the integration tests of "one account, one state" (issue 11). Preloaded before nss_wrapper: a
   name is lower-cased and then looked up, so getpwnam("ALICE") returns alice's entry with its own
   spelling, "alice", as such a directory would. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <pwd.h>
#include <stddef.h>
#include <string.h>

static void lower(const char *name, char *out, size_t size) {
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++) out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = 0;
}

int getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t buflen, struct passwd **result) {
    static int (*next)(const char *, struct passwd *, char *, size_t, struct passwd **);
    if (!next) next = (int (*)(const char *, struct passwd *, char *, size_t, struct passwd **))dlsym(RTLD_NEXT, "getpwnam_r");
    char folded[512];
    lower(name, folded, sizeof folded);
    return next(folded, pwd, buf, buflen, result);
}

struct passwd *getpwnam(const char *name) {
    static struct passwd *(*next)(const char *);
    if (!next) next = (struct passwd * (*)(const char *)) dlsym(RTLD_NEXT, "getpwnam");
    char folded[512];
    lower(name, folded, sizeof folded);
    return next(folded);
}
