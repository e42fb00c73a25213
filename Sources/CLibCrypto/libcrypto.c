#include "ctotp_libcrypto.h"
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

/* The soname of the libcrypto whose headers this file was compiled against: "libcrypto.so.3". */
#define CTOTP_STRING(x) #x
#define CTOTP_SONAME(major) "libcrypto.so." CTOTP_STRING(major)

/* Declared with the headers' own prototypes, so a mismatch is a compile error. */
static struct {
    __typeof__(PKCS5_PBKDF2_HMAC) *pbkdf2;
    __typeof__(EVP_sha256) *sha256;
    __typeof__(RAND_bytes) *rand_bytes;
    __typeof__(ERR_clear_error) *clear_error;
} libcrypto;
static const char *load_error;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void *symbol(void *handle, const char *name) {
    void *found = dlsym(handle, name);
    if (found == NULL && load_error == NULL) load_error = "a libcrypto function is missing";
    return found;
}

static void load(void) {
    /* RTLD_NODELETE: like the module itself (-z nodelete), never unmapped once loaded. */
    void *handle = dlopen(CTOTP_SONAME(OPENSSL_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == NULL) {
        const char *why = dlerror();
        load_error = why != NULL ? why : "dlopen failed";
        return;
    }
    libcrypto.pbkdf2 = (__typeof__(libcrypto.pbkdf2))symbol(handle, "PKCS5_PBKDF2_HMAC");
    libcrypto.sha256 = (__typeof__(libcrypto.sha256))symbol(handle, "EVP_sha256");
    libcrypto.rand_bytes = (__typeof__(libcrypto.rand_bytes))symbol(handle, "RAND_bytes");
    libcrypto.clear_error = (__typeof__(libcrypto.clear_error))symbol(handle, "ERR_clear_error");
}

static int loaded(void) {
    if (pthread_once(&load_once, load) != 0) return 0;
    return load_error == NULL;
}

static int finish(int ok, unsigned char *out, size_t length) {
    if (ok == 1) return 1;
    memset(out, 0, length);
    libcrypto.clear_error();
    return 0;
}

int ctotp_pbkdf2_sha256(const unsigned char *password, size_t password_length, const unsigned char *salt,
                        size_t salt_length, unsigned int iterations, unsigned char *out, size_t out_length) {
    if (!loaded()) return -1;
    if (password_length > INT_MAX || salt_length > INT_MAX || iterations > INT_MAX || out_length > INT_MAX) return 0;
    int ok = libcrypto.pbkdf2((const char *)password, (int)password_length, salt, (int)salt_length, (int)iterations,
                              libcrypto.sha256(), (int)out_length, out);
    return finish(ok, out, out_length);
}

int ctotp_rand_bytes(unsigned char *out, size_t length) {
    if (!loaded()) return -1;
    if (length > INT_MAX) return 0;
    return finish(libcrypto.rand_bytes(out, (int)length), out, length);
}

const char *ctotp_libcrypto_error(void) { return load_error; }
