#ifndef CTOTP_LIBCRYPTO_H
#define CTOTP_LIBCRYPTO_H
#include <stddef.h>

/* libcrypto, loaded the first time one of these is called rather than linked.

   Why: linking libcrypto made every login pay for loading it and for OpenSSL 3's initialisation
   (about 1.5 ms and 3.5 MB per cold process, docs/DESIGN.md), yet a login needs it only when a
   recovery code is typed. Hashing and HMAC are in Swift (TOTPCrypto/SHA.swift); PBKDF2 and random
   bytes for new secrets stay with libcrypto.

   Each function returns 1 on success, 0 if libcrypto reported a failure, and -1 if libcrypto could
   not be loaded (ctotp_libcrypto_error() then says why). Nothing is written to out on failure
   except zeros. */

/* PKCS5_PBKDF2_HMAC with EVP_sha256(). */
int ctotp_pbkdf2_sha256(const unsigned char *password, size_t password_length, const unsigned char *salt,
                        size_t salt_length, unsigned int iterations, unsigned char *out, size_t out_length);

/* RAND_bytes. */
int ctotp_rand_bytes(unsigned char *out, size_t length);

/* Why libcrypto could not be loaded (dlerror's text), or NULL. */
const char *ctotp_libcrypto_error(void);

#endif
