/* Hashes and MACs (OpenSSL libcrypto) and constant-time comparison. */
#ifndef FS_HASH_H
#define FS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_SHA256_HEX_LEN 64

/* Lowercase hex SHA-256 of data into out (at least 65 bytes). Returns 0 or -FS_E_SYSTEM. */
int fs_sha256_hex(const void *data, size_t len, char out[FS_SHA256_HEX_LEN + 1]);
/* Raw HMAC-SHA256 (32 bytes). */
int fs_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[32]);
/* Equal contents in time independent of where they differ (lengths may leak). */
bool fs_consttime_eq(const void *a, size_t alen, const void *b, size_t blen);

/* 64-bit FNV-1a, the hash behind Prometheus/Alertmanager label fingerprints. */
#define FS_FNV64_OFFSET 14695981039346656037ULL
uint64_t fs_fnv64a_add(uint64_t h, const void *data, size_t len);
uint64_t fs_fnv64a_add_byte(uint64_t h, unsigned char b);

#endif
