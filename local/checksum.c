/* checksum: the CRCs are common/crc.c's; the digests are OpenSSL's. */
#include "checksum.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crc.h"

struct sm_checksum {
    sm_checksum_algorithm alg;
    uint32_t crc;
    EVP_MD_CTX *md;
};

typedef struct algorithm_row {
    sm_checksum_algorithm alg;
    const char *name;
    const char *header;
} algorithm_row;

static const algorithm_row algorithms[] = {
    {SM_CHECKSUM_CRC32, "CRC32", "x-amz-checksum-crc32"},
    {SM_CHECKSUM_CRC32C, "CRC32C", "x-amz-checksum-crc32c"},
    {SM_CHECKSUM_SHA1, "SHA1", "x-amz-checksum-sha1"},
    {SM_CHECKSUM_SHA256, "SHA256", "x-amz-checksum-sha256"},
};
#define ALGORITHM_COUNT (sizeof algorithms / sizeof algorithms[0])

sm_checksum_algorithm sm_checksum_from_name(const char *name)
{
    for (size_t i = 0; name && i < ALGORITHM_COUNT; i++) {
        if (strcasecmp(name, algorithms[i].name) == 0)
            return algorithms[i].alg;
    }
    return SM_CHECKSUM_NONE;
}

sm_checksum_algorithm sm_checksum_from_header(const char *header)
{
    for (size_t i = 0; header && i < ALGORITHM_COUNT; i++) {
        if (strcasecmp(header, algorithms[i].header) == 0)
            return algorithms[i].alg;
    }
    return SM_CHECKSUM_NONE;
}

static const algorithm_row *row_of(sm_checksum_algorithm alg)
{
    for (size_t i = 0; i < ALGORITHM_COUNT; i++) {
        if (algorithms[i].alg == alg)
            return &algorithms[i];
    }
    return NULL;
}

const char *sm_checksum_name(sm_checksum_algorithm alg)
{
    const algorithm_row *row = row_of(alg);
    return row ? row->name : NULL;
}

const char *sm_checksum_header(sm_checksum_algorithm alg)
{
    const algorithm_row *row = row_of(alg);
    return row ? row->header : NULL;
}

/* ---- running checksums -------------------------------------------------- */

sm_checksum *sm_checksum_new(sm_checksum_algorithm alg)
{
    if (!row_of(alg))
        return NULL;
    sm_checksum *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->alg = alg;
    const EVP_MD *md = alg == SM_CHECKSUM_SHA1     ? EVP_sha1()
                       : alg == SM_CHECKSUM_SHA256 ? EVP_sha256()
                                                   : NULL;
    if (md) {
        self->md = EVP_MD_CTX_new();
        if (!self->md || !EVP_DigestInit_ex(self->md, md, NULL))
            sm_checksum_destroy(&self);
    }
    return self;
}

sm_checksum_algorithm sm_checksum_algorithm_of(const sm_checksum *self)
{
    return self ? self->alg : SM_CHECKSUM_NONE;
}

void sm_checksum_update(sm_checksum *self, const void *data, size_t len)
{
    if (self->md)
        EVP_DigestUpdate(self->md, data, len);
    else if (self->alg == SM_CHECKSUM_CRC32)
        self->crc = sm_crc32(self->crc, data, len);
    else
        self->crc = sm_crc32c(self->crc, data, len);
}

int sm_checksum_final(sm_checksum *self, char out[SM_CHECKSUM_B64_MAX])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 4;
    if (self->md) {
        if (!EVP_DigestFinal_ex(self->md, digest, &len))
            return -1;
    } else {
        for (int i = 0; i < 4; i++)
            digest[i] = (unsigned char)(self->crc >> (24 - 8 * i));
    }
    sodium_bin2base64(out, SM_CHECKSUM_B64_MAX, digest, len,
                      sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

void sm_checksum_destroy(sm_checksum **self)
{
    if (!*self)
        return;
    EVP_MD_CTX_free((*self)->md);
    free(*self);
    *self = NULL;
}
