// libcrypto only: HMAC, PBKDF2, random bytes and cleansing. Never libssl.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
