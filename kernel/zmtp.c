/* zmtp: the ZMTP 3.0 greeting, NULL handshake, frame encoder and a
 * push decoder that never trusts a length it was sent: frame bodies grow as
 * their bytes arrive, and a message over the limits is skipped, not kept. */
#include "zmtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ST_GREETING, ST_HEAD, ST_BODY, ST_DEAD };

#define BUF_KEEP (256 * 1024)   /* an emptied buffer above this is freed */
#define BODY_STEP (1024 * 1024) /* a body grows by at most this at a time */

static const unsigned char empty_frame[1];

/* ---- buffers ------------------------------------------------------------ */

int sm_zmtp_buf_append(sm_zmtp_buf *self, const void *data, size_t n)
{
    if (self->head && self->len + n > self->cap) {
        memmove(self->data, self->data + self->head, self->len - self->head);
        self->len -= self->head;
        self->head = 0;
    }
    if (self->len + n > self->cap) {
        size_t cap = self->cap ? self->cap : 4096;
        while (cap < self->len + n)
            cap *= 2;
        unsigned char *p = realloc(self->data, cap);
        if (!p)
            return -1;
        self->data = p;
        self->cap = cap;
    }
    if (n)
        memcpy(self->data + self->len, data, n);
    self->len += n;
    return 0;
}

void sm_zmtp_buf_consume(sm_zmtp_buf *self, size_t n)
{
    self->head += n;
    if (self->head < self->len)
        return;
    self->head = self->len = 0;
    if (self->cap > BUF_KEEP)
        sm_zmtp_buf_free(self);
}

void sm_zmtp_buf_free(sm_zmtp_buf *self)
{
    free(self->data);
    *self = (sm_zmtp_buf){0};
}

/* ---- encoding ----------------------------------------------------------- */

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

size_t sm_zmtp_frame_size(size_t size)
{
    return size + (size > 255 ? 9 : 2);
}

int sm_zmtp_put_frame(sm_zmtp_buf *out, const void *data, size_t size,
                      int flags)
{
    unsigned char head[9];
    size_t n = 2;
    head[0] =
        (unsigned char)(flags & (SM_ZMTP_FLAG_MORE | SM_ZMTP_FLAG_COMMAND));
    if (size > 255) {
        head[0] |= SM_ZMTP_FLAG_LONG;
        put_be(head + 1, size, 8);
        n = 9;
    } else {
        head[1] = (unsigned char)size;
    }
    if (sm_zmtp_buf_append(out, head, n))
        return -1;
    return sm_zmtp_buf_append(out, data, size);
}

/* name-size, name, 4-byte value-size, value (the metadata of READY). */
static size_t put_property(unsigned char *p, const char *name,
                           const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    p[0] = (unsigned char)n;
    memcpy(p + 1, name, n);
    put_be(p + 1 + n, v, 4);
    memcpy(p + 5 + n, value, v);
    return 5 + n + v;
}

int sm_zmtp_put_handshake(sm_zmtp_buf *out, const char *socket_type)
{
    unsigned char g[SM_ZMTP_GREETING_SIZE] = {0};
    g[0] = 0xff;
    g[8] = 1; /* padding; libzmq reads it as an identity length + 1 */
    g[9] = 0x7f;
    g[10] = 3; /* version 3.0: subscriptions arrive as messages */
    memcpy(g + 12, "NULL", 4);
    unsigned char ready[128];
    size_t n = 0;
    ready[n++] = 5;
    memcpy(ready + n, "READY", 5);
    n += 5;
    n += put_property(ready + n, "Socket-Type", socket_type);
    if (strcmp(socket_type, "ROUTER") == 0)
        n += put_property(ready + n, "Identity", "");
    if (sm_zmtp_buf_append(out, g, sizeof g))
        return -1;
    return sm_zmtp_put_frame(out, ready, n, SM_ZMTP_FLAG_COMMAND);
}

int sm_zmtp_put_pong(sm_zmtp_buf *out, const unsigned char *ping, size_t len)
{
    /* PING is a 2-byte TTL then up to 16 bytes of context PONG echoes. */
    unsigned char pong[5 + 16];
    size_t ctx = len > 2 ? len - 2 : 0;
    if (ctx > 16)
        ctx = 16;
    pong[0] = 4;
    memcpy(pong + 1, "PONG", 4);
    if (ctx)
        memcpy(pong + 5, ping + 2, ctx);
    return sm_zmtp_put_frame(out, pong, 5 + ctx, SM_ZMTP_FLAG_COMMAND);
}

/* ---- socket types ------------------------------------------------------- */

static const struct {
    const char *ours, *peers;
} compat[] = {
    {"ROUTER", " REQ DEALER ROUTER "},
    {"REP", " REQ DEALER "},
    {"XPUB", " SUB XSUB "},
    {"PUB", " SUB XSUB "},
    {"DEALER", " REP DEALER ROUTER "},
    {"REQ", " REP ROUTER "},
};

int sm_zmtp_compatible(const char *ours, const char *peer)
{
    char word[40];
    if (strlen(peer) > 30 || strchr(peer, ' '))
        return 0;
    snprintf(word, sizeof word, " %s ", peer);
    for (size_t i = 0; i < sizeof compat / sizeof *compat; i++)
        if (strcmp(compat[i].ours, ours) == 0)
            return strstr(compat[i].peers, word) != NULL;
    return 0;
}

/* ---- decoding ----------------------------------------------------------- */

void sm_zmtp_decoder_init(sm_zmtp_decoder *self, const char *our_type)
{
    *self = (sm_zmtp_decoder){0};
    self->our_type = our_type;
    self->max_message = SM_ZMTP_MAX_MESSAGE;
    self->state = ST_GREETING;
    self->need = SM_ZMTP_GREETING_SIZE;
}

static size_t fail(sm_zmtp_decoder *self, size_t used, sm_zmtp_event *event,
                   const char *why)
{
    snprintf(self->error, sizeof self->error, "%s", why);
    self->state = ST_DEAD;
    *event = SM_ZMTP_ERROR;
    return used;
}

static void free_body(sm_zmtp_decoder *self)
{
    if (self->body != empty_frame)
        free(self->body);
    self->body = NULL;
    self->body_cap = 0;
}

/* Forget the message being assembled (or just delivered). */
static void release_message(sm_zmtp_decoder *self)
{
    for (size_t i = 1; i <= self->n_frames; i++)
        if (self->parts[i].size)
            free((void *)self->parts[i].data);
    self->n_frames = 0;
    self->total = 0;
    self->discard = 0;
}

void sm_zmtp_decoder_clear(sm_zmtp_decoder *self)
{
    release_message(self);
    free(self->parts);
    free_body(self);
    self->parts = NULL;
    self->frames_cap = 0;
    self->state = ST_DEAD;
}

/* The greeting as far as it has come: fail early on the first wrong byte,
 * so a peer that is not ZMTP is dropped without waiting for 64 bytes. */
static const char *check_greeting(const sm_zmtp_decoder *self)
{
    const unsigned char *g = self->greeting;
    if (self->have >= 1 && g[0] != 0xff)
        return "not a ZMTP peer (bad signature)";
    if (self->have >= 10 && !(g[9] & 1))
        return "not a ZMTP peer (bad signature)";
    if (self->have >= 11 && g[10] < 3)
        return "the peer speaks ZMTP 1.0 or 2.0, not 3";
    if (self->have < SM_ZMTP_GREETING_SIZE)
        return NULL;
    static const unsigned char null_mech[20] = "NULL";
    if (memcmp(g + 12, null_mech, sizeof null_mech) != 0)
        return "the peer's security mechanism is not NULL";
    return NULL;
}

/* READY's metadata: Socket-Type must be there and fit ours. */
static const char *parse_ready(sm_zmtp_decoder *self, const unsigned char *p,
                               const unsigned char *end)
{
    self->peer_type[0] = 0;
    while (p < end) {
        size_t n = *p++;
        if ((size_t)(end - p) < n + 4)
            return "bad READY metadata";
        const unsigned char *name = p;
        uint64_t v = get_be(p + n, 4);
        p += n + 4;
        if ((uint64_t)(end - p) < v)
            return "bad READY metadata";
        if (n == 11 &&
            strncasecmp((const char *)name, "Socket-Type", 11) == 0) {
            if (v >= sizeof self->peer_type)
                return "bad Socket-Type";
            memcpy(self->peer_type, p, v);
            self->peer_type[v] = 0;
        } else if (n == 8 &&
                   strncasecmp((const char *)name, "Identity", 8) == 0) {
            if (v > SM_ZMTP_MAX_IDENTITY)
                return "identity longer than 255 bytes";
            memcpy(self->identity, p, v);
            self->identity_len = v;
        }
        p += v;
    }
    if (!self->peer_type[0])
        return "READY without a Socket-Type";
    if (!sm_zmtp_compatible(self->our_type, self->peer_type))
        return "the peer's socket type does not fit ours";
    return NULL;
}

static size_t end_command(sm_zmtp_decoder *self, size_t used,
                          sm_zmtp_event *event)
{
    const unsigned char *b = self->body;
    size_t n = self->size ? b[0] : 0;
    if (self->size == 0 || n + 1 > self->size)
        return fail(self, used, event, "malformed command");
    memcpy(self->command, b + 1, n);
    self->command[n] = 0;
    self->cmd_body = b + 1 + n;
    self->cmd_len = self->size - 1 - n;
    if (self->ready) {
        if (strcmp(self->command, "READY") != 0)
            *event = SM_ZMTP_COMMAND;
        return used;
    }
    if (strcmp(self->command, "READY") != 0)
        return fail(self, used, event,
                    strcmp(self->command, "ERROR") == 0
                        ? "the peer refused the handshake"
                        : "a command other than READY in the handshake");
    const char *why =
        parse_ready(self, self->cmd_body, self->cmd_body + self->cmd_len);
    if (why)
        return fail(self, used, event, why);
    self->ready = 1;
    *event = SM_ZMTP_READY;
    return used;
}

/* A message frame is complete: keep it, and report the message at its end. */
static size_t end_part(sm_zmtp_decoder *self, size_t used, sm_zmtp_event *event)
{
    if (!self->discard) {
        if (self->n_frames + 2 > self->frames_cap) {
            size_t cap = self->frames_cap ? self->frames_cap * 2 : 8;
            sm_frame *p = realloc(self->parts, cap * sizeof *p);
            if (!p)
                return fail(self, used, event, "out of memory");
            self->parts = p;
            self->frames_cap = cap;
        }
        self->parts[++self->n_frames] =
            (sm_frame){self->size ? self->body : empty_frame, self->size};
        if (!self->size)
            free_body(self);
        self->body = NULL;
        self->body_cap = 0;
    }
    if (self->flags & SM_ZMTP_FLAG_MORE)
        return used;
    if (self->discard) {
        release_message(self);
        *event = SM_ZMTP_DROPPED;
    } else {
        *event = SM_ZMTP_MESSAGE;
    }
    return used;
}

static size_t end_frame(sm_zmtp_decoder *self, size_t used,
                        sm_zmtp_event *event)
{
    self->state = ST_HEAD;
    self->have = 0;
    self->need = 2;
    if (self->flags & SM_ZMTP_FLAG_COMMAND)
        return end_command(self, used, event);
    return end_part(self, used, event);
}

/* The head is complete: check the frame against the limits. */
static size_t start_frame(sm_zmtp_decoder *self, size_t used,
                          sm_zmtp_event *event)
{
    int is_command = self->flags & SM_ZMTP_FLAG_COMMAND;
    self->size = get_be(self->head + 1, (int)self->need - 1);
    self->done = 0;
    if (is_command && (self->flags & SM_ZMTP_FLAG_MORE))
        return fail(self, used, event, "a command frame with MORE set");
    if (is_command && self->n_frames)
        return fail(self, used, event, "a command inside a message");
    if (is_command && self->size > SM_ZMTP_MAX_COMMAND)
        return fail(self, used, event, "a command over 64 KiB");
    if (!is_command && !self->ready)
        return fail(self, used, event, "a message before READY");
    if (!is_command && !self->discard) {
        if (self->total + self->size > self->max_message) {
            self->discard = 1;
            snprintf(self->error, sizeof self->error,
                     "refused a message over %llu KiB",
                     (unsigned long long)(self->max_message >> 10));
        } else if (self->n_frames + 1 >= SM_ZMTP_MAX_FRAMES) {
            self->discard = 1;
            snprintf(self->error, sizeof self->error,
                     "refused a message of more than %d frames",
                     SM_ZMTP_MAX_FRAMES);
        }
    }
    if (!is_command)
        self->total += self->discard ? 0 : self->size;
    self->state = ST_BODY;
    if (self->size == 0)
        return end_frame(self, used, event);
    return used;
}

static size_t take_head(sm_zmtp_decoder *self, const unsigned char *data,
                        size_t len, size_t used, sm_zmtp_event *event)
{
    if (self->have == 0) {
        self->flags = data[used];
        self->head[self->have++] = data[used++];
        if (self->flags &
            ~(SM_ZMTP_FLAG_MORE | SM_ZMTP_FLAG_LONG | SM_ZMTP_FLAG_COMMAND))
            return fail(self, used, event, "reserved frame flags set");
        self->need = (self->flags & SM_ZMTP_FLAG_LONG) ? 9 : 2;
    }
    size_t n = self->need - self->have;
    if (n > len - used)
        n = len - used;
    memcpy(self->head + self->have, data + used, n);
    self->have += n;
    used += n;
    if (self->have < self->need)
        return used;
    if (self->need == 9 && (self->head[1] & 0x80))
        return fail(self, used, event, "frame size over 2^63");
    return start_frame(self, used, event);
}

static int grow_body(sm_zmtp_decoder *self, size_t want)
{
    if (want <= self->body_cap)
        return 0;
    /* Small frames at once; big ones as their bytes come, doubling. */
    size_t cap = (size_t)self->size;
    if (self->size > BODY_STEP) {
        cap = self->body_cap ? self->body_cap * 2 : BODY_STEP;
        if (cap < want)
            cap = want;
        if (cap > self->size)
            cap = (size_t)self->size;
    }
    unsigned char *p = realloc(self->body, cap);
    if (!p)
        return -1;
    self->body = p;
    self->body_cap = cap;
    return 0;
}

static size_t take_body(sm_zmtp_decoder *self, const unsigned char *data,
                        size_t len, size_t used, sm_zmtp_event *event)
{
    uint64_t left = self->size - self->done;
    size_t n = len - used < left ? len - used : (size_t)left;
    int keep = !self->discard || (self->flags & SM_ZMTP_FLAG_COMMAND);
    if (keep) {
        if (grow_body(self, (size_t)self->done + n))
            return fail(self, used, event, "out of memory");
        memcpy(self->body + self->done, data + used, n);
    }
    self->done += n;
    used += n;
    if (self->done == self->size)
        return end_frame(self, used, event);
    return used;
}

static size_t take_greeting(sm_zmtp_decoder *self, const unsigned char *data,
                            size_t len, size_t used, sm_zmtp_event *event)
{
    /* Byte by byte up to the version, so a bad signature fails at once. */
    size_t n = self->have < 11 ? 1 : SM_ZMTP_GREETING_SIZE - self->have;
    if (n > len - used)
        n = len - used;
    memcpy(self->greeting + self->have, data + used, n);
    self->have += n;
    used += n;
    const char *why = check_greeting(self);
    if (why)
        return fail(self, used, event, why);
    if (self->have == SM_ZMTP_GREETING_SIZE) {
        self->state = ST_HEAD;
        self->have = 0;
        self->need = 2;
    }
    return used;
}

size_t sm_zmtp_decode(sm_zmtp_decoder *self, const unsigned char *data,
                      size_t len, sm_zmtp_event *event)
{
    *event = SM_ZMTP_NEED_MORE;
    if (self->state == ST_DEAD) {
        *event = SM_ZMTP_ERROR;
        return 0;
    }
    /* What the last event reported is released now. */
    if (self->n_frames && self->state == ST_HEAD && self->have == 0 &&
        !(self->flags & SM_ZMTP_FLAG_MORE))
        release_message(self);
    if (self->state == ST_HEAD && self->have == 0 && self->body)
        free_body(self);
    size_t used = 0;
    while (used < len && *event == SM_ZMTP_NEED_MORE) {
        if (self->state == ST_GREETING)
            used = take_greeting(self, data, len, used, event);
        else if (self->state == ST_HEAD)
            used = take_head(self, data, len, used, event);
        else
            used = take_body(self, data, len, used, event);
    }
    return used;
}
