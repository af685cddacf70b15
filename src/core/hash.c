/* hash: SHA-256, HMAC-SHA256 and constant-time compare through OpenSSL libcrypto; FNV-1a for
 * label fingerprints (not a security hash; it only has to match Alertmanager's). */
#include "core/common.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hash.h"

int fs_sha256_hex(const void *data, size_t len, char out[FS_SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return -FS_E_SYSTEM;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int fs_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[32])
{
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) || outlen != 32)
        return -FS_E_SYSTEM;
    return 0;
}

bool fs_consttime_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

uint64_t fs_fnv64a_add(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t fs_fnv64a_add_byte(uint64_t h, unsigned char b)
{
    h ^= b;
    h *= 1099511628211ULL;
    return h;
}
