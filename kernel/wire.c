/* wire: framing, signing and verifying Jupyter messages (messaging.rst,
 * "The Wire Protocol"). Signatures are checked before JSON is parsed. */
#include "wire.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Replay guard: the last REPLAY_WINDOW signatures (their first 64 bits) in
 * a ring, indexed by an open-addressing table with linear probing. Both are
 * allocated and touched once, so memory never grows with traffic. */
#define REPLAY_WINDOW 8192
#define REPLAY_SLOTS (2 * REPLAY_WINDOW) /* a power of two, load <= 1/2 */

struct replay_guard {
    uint64_t ring[REPLAY_WINDOW]; /* keys in arrival order */
    uint16_t slots[REPLAY_SLOTS]; /* ring position + 1; 0 is empty */
    size_t next;                  /* ring position written next */
    size_t count;
};

/* HMAC with SHA-256 or SHA-512 through libsodium: the key is absorbed once
 * into a template state, which each message copies. */
enum hmac_kind { HMAC_NONE, HMAC_SHA256, HMAC_SHA512 };

struct sm_wire_auth {
    enum hmac_kind kind;
    size_t digest_len;
    union {
        crypto_auth_hmacsha256_state sha256;
        crypto_auth_hmacsha512_state sha512;
    } keyed;
    pthread_mutex_t lock;
    struct replay_guard *guard;
};

static size_t slot_of(uint64_t key)
{
    return (size_t)(key ^ (key >> 29)) & (REPLAY_SLOTS - 1);
}

static long guard_find(const struct replay_guard *g, uint64_t key)
{
    for (size_t i = slot_of(key);; i = (i + 1) & (REPLAY_SLOTS - 1)) {
        if (g->slots[i] == 0)
            return -1;
        if (g->ring[g->slots[i] - 1] == key)
            return (long)i;
    }
}

/* Remove slot `i`, shifting later entries of its probe run back (linear
 * probing's deletion, which needs no tombstones). */
static void guard_remove_slot(struct replay_guard *g, size_t i)
{
    size_t mask = REPLAY_SLOTS - 1;
    for (size_t j = (i + 1) & mask; g->slots[j]; j = (j + 1) & mask) {
        size_t home = slot_of(g->ring[g->slots[j] - 1]);
        /* move j into the hole at i unless its home lies in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            g->slots[i] = g->slots[j];
            i = j;
        }
    }
    g->slots[i] = 0;
}

/* Remember `key`; returns 1 when it is among the last REPLAY_WINDOW. */
static int guard_check_and_add(struct replay_guard *g, uint64_t key)
{
    if (guard_find(g, key) >= 0)
        return 1;
    if (g->count == REPLAY_WINDOW) {
        long oldest = guard_find(g, g->ring[g->next]);
        if (oldest >= 0)
            guard_remove_slot(g, (size_t)oldest);
        g->count--;
    }
    g->ring[g->next] = key;
    size_t i = slot_of(key);
    while (g->slots[i])
        i = (i + 1) & (REPLAY_SLOTS - 1);
    g->slots[i] = (uint16_t)(g->next + 1);
    g->next = (g->next + 1) % REPLAY_WINDOW;
    g->count++;
    return 0;
}

static int hmac_setup(sm_wire_auth *self, const char *scheme, const char *key,
                      size_t key_len)
{
    const unsigned char *k = (const unsigned char *)key;
    if (strcmp(scheme, "hmac-sha256") == 0) {
        self->kind = HMAC_SHA256;
        self->digest_len = crypto_auth_hmacsha256_BYTES;
        return crypto_auth_hmacsha256_init(&self->keyed.sha256, k, key_len);
    }
    if (strcmp(scheme, "hmac-sha512") == 0) {
        self->kind = HMAC_SHA512;
        self->digest_len = crypto_auth_hmacsha512_BYTES;
        return crypto_auth_hmacsha512_init(&self->keyed.sha512, k, key_len);
    }
    return -1;
}

sm_wire_auth *sm_wire_auth_new(const char *scheme, const char *key,
                               size_t key_len, sm_error *err)
{
    sm_wire_auth *self = sodium_init() < 0 ? NULL : malloc(sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    memset(self, 0, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
    bool no_scheme = !scheme || !*scheme || strcmp(scheme, "none") == 0;
    if (!no_scheme && strcmp(scheme, "hmac-sha256") != 0 &&
        strcmp(scheme, "hmac-sha512") != 0) {
        sm_error_set(err, "unsupported signature_scheme '%s' (hmac-sha256 and "
                          "hmac-sha512 are supported)", scheme);
        goto fail;
    }
    if (key_len == 0 || no_scheme)
        return self; /* an empty key turns authentication off */
    self->guard = malloc(sizeof *self->guard);
    if (!self->guard || hmac_setup(self, scheme, key, key_len) != 0) {
        sm_error_set(err, "cannot set up HMAC for '%s'", scheme);
        goto fail;
    }
    memset(self->guard, 0, sizeof *self->guard); /* touched now, not later */
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
    free(self->guard);
    pthread_mutex_destroy(&self->lock);
    sodium_memzero(self, sizeof *self); /* the keyed state holds the key */
    free(self);
    *pself = NULL;
}

/* Lowercase hex HMAC of the four JSON frames into `hex` (2*digest_len+1). */
static void sign_parts(sm_wire_auth *self, const sm_frame parts[4], char *hex)
{
    unsigned char mac[crypto_auth_hmacsha512_BYTES];
    if (self->kind == HMAC_SHA256) {
        crypto_auth_hmacsha256_state st = self->keyed.sha256;
        for (int i = 0; i < 4; i++)
            crypto_auth_hmacsha256_update(&st, parts[i].data, parts[i].size);
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_memzero(&st, sizeof st);
    } else {
        crypto_auth_hmacsha512_state st = self->keyed.sha512;
        for (int i = 0; i < 4; i++)
            crypto_auth_hmacsha512_update(&st, parts[i].data, parts[i].size);
        crypto_auth_hmacsha512_final(&st, mac);
        sodium_memzero(&st, sizeof st);
    }
    sodium_bin2hex(hex, 2 * self->digest_len + 1, mac, self->digest_len);
}

/* The first 64 bits of the digest from its hex text. */
static uint64_t replay_key(const char *hex)
{
    uint64_t key = 0;
    for (int i = 0; i < 16; i++)
        key = key << 4 |
              (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    return key;
}

/* Check the signature frame against the parts; 0 when it is valid and new. */
static int verify(sm_wire_auth *self, const sm_frame *sig,
                  const sm_frame parts[4], sm_error *err)
{
    if (self->kind == HMAC_NONE)
        return 0;
    size_t hex_len = 2 * self->digest_len;
    if (sig->size == 0)
        return sm_error_set(err, "unsigned message");
    if (sig->size != hex_len)
        return sm_error_set(err, "invalid signature (wrong length)");
    char expected[2 * crypto_auth_hmacsha512_BYTES + 1];
    sign_parts(self, parts, expected);
    if (sodium_memcmp(expected, sig->data, hex_len) != 0)
        return sm_error_set(err, "invalid signature");
    pthread_mutex_lock(&self->lock);
    int replayed = guard_check_and_add(self->guard, replay_key(expected));
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
    if (!rc && self->kind != HMAC_NONE) {
        char hex[2 * crypto_auth_hmacsha512_BYTES + 1];
        sign_parts(self, &out->frames[sig_at + 1], hex);
        free((void *)out->frames[sig_at].data);
        out->frames[sig_at] = (sm_frame){strdup(hex), strlen(hex)};
        rc = out->frames[sig_at].data ? 0 : -1;
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
