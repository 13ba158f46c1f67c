/* wire: framing, signing and verifying Jupyter messages (messaging.rst,
 * "The Wire Protocol"). Signatures are checked before JSON is parsed. */
#include "wire.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Replay guard: two generations of a set of 64-bit digest prefixes. When the
 * young one is half full it becomes the old one, so memory stays bounded and
 * at least the last REPLAY_GENERATION signatures are always remembered. */
#define REPLAY_GENERATION 32768
#define REPLAY_SLOTS_MAX (2 * REPLAY_GENERATION)

struct replay_set {
    uint64_t *slots;
    size_t capacity, count;
};

struct sm_wire_auth {
    int enabled;
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed; /* template duplicated per message */
    size_t digest_len;
    pthread_mutex_t lock;
    struct replay_set young, old;
};

static void replay_free(struct replay_set *set)
{
    free(set->slots);
    *set = (struct replay_set){0};
}

static int replay_contains(const struct replay_set *set, uint64_t key)
{
    if (!set->capacity)
        return 0;
    size_t mask = set->capacity - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
        if (set->slots[i] == key)
            return 1;
        if (set->slots[i] == 0)
            return 0;
    }
}

static void replay_put(struct replay_set *set, uint64_t key)
{
    size_t mask = set->capacity - 1;
    size_t i = key & mask;
    while (set->slots[i] && set->slots[i] != key)
        i = (i + 1) & mask;
    if (!set->slots[i])
        set->count++;
    set->slots[i] = key;
}

/* Grow a set by doubling (load factor at most one half). */
static int replay_grow(struct replay_set *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 1024;
    struct replay_set bigger = {calloc(capacity, sizeof(uint64_t)), capacity, 0};
    if (!bigger.slots)
        return -1;
    for (size_t i = 0; i < set->capacity; i++)
        if (set->slots[i])
            replay_put(&bigger, set->slots[i]);
    free(set->slots);
    *set = bigger;
    return 0;
}

/* Remember `key`; returns 1 when it was seen before. */
static int replay_check_and_add(sm_wire_auth *self, uint64_t key)
{
    if (replay_contains(&self->young, key) || replay_contains(&self->old, key))
        return 1;
    if (self->young.count >= REPLAY_GENERATION) {
        replay_free(&self->old);
        self->old = self->young;
        self->young = (struct replay_set){0};
    }
    if (self->young.count * 2 >= self->young.capacity &&
        self->young.capacity < REPLAY_SLOTS_MAX && replay_grow(&self->young))
        return 0;
    if (self->young.count * 2 < self->young.capacity)
        replay_put(&self->young, key);
    return 0;
}

sm_wire_auth *sm_wire_auth_new(const char *scheme, const char *key,
                               size_t key_len, sm_error *err)
{
    sm_wire_auth *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    if (key_len == 0 || !scheme || !*scheme || strcmp(scheme, "none") == 0)
        return self;
    if (strncmp(scheme, "hmac-", 5) != 0 || !EVP_get_digestbyname(scheme + 5)) {
        sm_error_set(err, "unsupported signature_scheme '%s'", scheme);
        goto fail;
    }
    char digest[64];
    snprintf(digest, sizeof digest, "%s", scheme + 5);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    self->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    self->keyed = self->mac ? EVP_MAC_CTX_new(self->mac) : NULL;
    if (!self->keyed ||
        !EVP_MAC_init(self->keyed, (const unsigned char *)key, key_len, params)) {
        sm_error_set(err, "cannot set up HMAC for '%s'", scheme);
        goto fail;
    }
    self->digest_len = EVP_MAC_CTX_get_mac_size(self->keyed);
    self->enabled = 1;
    return self;
fail:
    sm_wire_auth_destroy(&self);
    return NULL;
}

void sm_wire_auth_destroy(sm_wire_auth **pself)
{
    sm_wire_auth *self = *pself;
    if (!self)
        return;
    EVP_MAC_CTX_free(self->keyed); /* OpenSSL cleanses the key it holds */
    EVP_MAC_free(self->mac);
    replay_free(&self->young);
    replay_free(&self->old);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}

/* Lowercase hex HMAC of the four JSON frames into `hex` (2*digest_len+1). */
static int sign_parts(sm_wire_auth *self, const sm_frame parts[4], char *hex)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(self->keyed);
    int ok = ctx != NULL;
    for (int i = 0; ok && i < 4; i++)
        ok = EVP_MAC_update(ctx, parts[i].data, parts[i].size);
    ok = ok && EVP_MAC_final(ctx, mac, &mac_len, sizeof mac);
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return -1;
    sodium_bin2hex(hex, 2 * mac_len + 1, mac, mac_len);
    sodium_memzero(mac, sizeof mac);
    return 0;
}

/* Check the signature frame against the parts; 0 when it is valid and new. */
static int verify(sm_wire_auth *self, const sm_frame *sig,
                  const sm_frame parts[4], sm_error *err)
{
    if (!self->enabled)
        return 0;
    size_t hex_len = 2 * self->digest_len;
    if (sig->size == 0)
        return sm_error_set(err, "unsigned message");
    if (sig->size != hex_len)
        return sm_error_set(err, "invalid signature (wrong length)");
    char expected[2 * EVP_MAX_MD_SIZE + 1];
    if (sign_parts(self, parts, expected))
        return sm_error_set(err, "cannot compute the signature");
    if (CRYPTO_memcmp(expected, sig->data, hex_len) != 0)
        return sm_error_set(err, "invalid signature");
    uint64_t key = 0;
    memcpy(&key, expected, sizeof key); /* hex text, never all zero bytes */
    pthread_mutex_lock(&self->lock);
    int replayed = replay_check_and_add(self, key);
    pthread_mutex_unlock(&self->lock);
    if (replayed)
        return sm_error_set(err, "duplicate signature (replayed message)");
    return 0;
}

static json_t *parse_object(const sm_frame *f, const char *what, sm_error *err)
{
    json_error_t jerr;
    json_t *value = json_loadb(f->data, f->size, 0, &jerr);
    if (!value) {
        sm_error_set(err, "bad JSON in %s: %s", what, jerr.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        json_decref(value);
        sm_error_set(err, "%s is not a JSON object", what);
        return NULL;
    }
    return value;
}

/* Split off identities; returns the index of the delimiter or -1. */
static long find_delimiter(const sm_frame *frames, size_t n)
{
    size_t dlen = strlen(SM_WIRE_DELIMITER);
    for (size_t i = 0; i < n && i <= SM_WIRE_MAX_IDENTS; i++)
        if (frames[i].size == dlen &&
            memcmp(frames[i].data, SM_WIRE_DELIMITER, dlen) == 0)
            return (long)i;
    return -1;
}

static int copy_idents(sm_wire_msg *out, const sm_frame *frames, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *copy = malloc(frames[i].size ? frames[i].size : 1);
        if (!copy)
            return -1;
        memcpy(copy, frames[i].data, frames[i].size);
        out->idents[i] = (sm_frame){copy, frames[i].size};
        out->n_idents = i + 1;
    }
    return 0;
}

static int parse_parts(sm_wire_msg *out, const sm_frame *parts, sm_error *err)
{
    static const char *const names[4] = {"header", "parent_header",
                                         "metadata", "content"};
    json_t **slots[4] = {&out->header, &out->parent, &out->metadata,
                         &out->content};
    for (int i = 0; i < 4; i++)
        if (!(*slots[i] = parse_object(&parts[i], names[i], err)))
            return -1;
    out->msg_type = json_string_value(json_object_get(out->header, "msg_type"));
    out->msg_id = json_string_value(json_object_get(out->header, "msg_id"));
    if (!out->msg_type || !out->msg_id)
        return sm_error_set(err, "header lacks msg_type or msg_id");
    return 0;
}

int sm_wire_decode(sm_wire_auth *self, const sm_frame *frames, size_t n,
                   sm_wire_msg *out, sm_error *err)
{
    *out = (sm_wire_msg){0};
    long d = find_delimiter(frames, n);
    if (d < 0)
        return sm_error_set(err, "no <IDS|MSG> delimiter in the first %d frames",
                            SM_WIRE_MAX_IDENTS + 1);
    if (n - (size_t)d < 6)
        return sm_error_set(err, "malformed message: %zu frames after the "
                                 "delimiter, need at least 5",
                            n - (size_t)d - 1);
    const sm_frame *parts = &frames[d + 2];
    int rc = verify(self, &frames[d + 1], parts, err);
    if (!rc)
        rc = copy_idents(out, frames, (size_t)d);
    if (!rc)
        rc = parse_parts(out, parts, err);
    if (rc) {
        sm_error_set(err, "out of memory");
        sm_wire_msg_clear(out);
    }
    return rc;
}

void sm_wire_msg_clear(sm_wire_msg *msg)
{
    for (size_t i = 0; i < msg->n_idents; i++)
        free((void *)msg->idents[i].data);
    json_decref(msg->header);
    json_decref(msg->parent);
    json_decref(msg->metadata);
    json_decref(msg->content);
    *msg = (sm_wire_msg){0};
}

static int push_copy(sm_wire_out *out, const void *data, size_t size)
{
    void *copy = malloc(size ? size : 1);
    if (!copy)
        return -1;
    memcpy(copy, data, size);
    out->frames[out->count++] = (sm_frame){copy, size};
    return 0;
}

static int push_json(sm_wire_out *out, const json_t *value)
{
    if (!value)
        return push_copy(out, "{}", 2);
    char *text = json_dumps(value, JSON_COMPACT);
    if (!text)
        return -1;
    out->frames[out->count++] = (sm_frame){text, strlen(text)};
    return 0;
}

int sm_wire_encode(sm_wire_auth *self, const sm_frame *idents,
                   size_t n_idents, const json_t *header, const json_t *parent,
                   const json_t *metadata, const json_t *content,
                   sm_wire_out *out)
{
    *out = (sm_wire_out){0};
    if (n_idents > SM_WIRE_MAX_IDENTS)
        return -1;
    int rc = 0;
    for (size_t i = 0; !rc && i < n_idents; i++)
        rc = push_copy(out, idents[i].data, idents[i].size);
    if (!rc)
        rc = push_copy(out, SM_WIRE_DELIMITER, strlen(SM_WIRE_DELIMITER));
    size_t sig_at = out->count;
    if (!rc)
        rc = push_copy(out, "", 0);
    if (!rc)
        rc = push_json(out, header);
    if (!rc)
        rc = push_json(out, parent);
    if (!rc)
        rc = push_json(out, metadata);
    if (!rc)
        rc = push_json(out, content);
    if (!rc && self->enabled) {
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        rc = sign_parts(self, &out->frames[sig_at + 1], hex);
        if (!rc) {
            free((void *)out->frames[sig_at].data);
            out->frames[sig_at] = (sm_frame){strdup(hex), strlen(hex)};
            rc = out->frames[sig_at].data ? 0 : -1;
        }
    }
    if (rc)
        sm_wire_out_clear(out);
    return rc;
}

void sm_wire_out_clear(sm_wire_out *out)
{
    for (size_t i = 0; i < out->count; i++)
        free((void *)out->frames[i].data);
    out->count = 0;
}

void sm_wire_uuid(char buf[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(buf, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

void sm_wire_iso8601(char *buf, size_t size, long long sec, long usec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%.20s.%06dZ", day, (int)(usec % 1000000));
}

json_t *sm_wire_header_new(const char *session, const char *msg_type)
{
    char id[37], date[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sm_wire_uuid(id);
    sm_wire_iso8601(date, sizeof date, (long long)now.tv_sec,
                    now.tv_nsec / 1000);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "session",
                     session, "username", "sagemagic", "date", date,
                     "msg_type", msg_type, "version",
                     SM_WIRE_PROTOCOL_VERSION);
}
