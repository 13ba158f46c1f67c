/* test_zmtp: the ZMTP 3.0 codec: our greeting and READY byte for byte, the
 * decoder on whole, split and byte-at-a-time input, and every way a peer's
 * stream is refused (bad signature, old version, other mechanism, wrong
 * socket type, message before READY, bad flags, messages over the limits). */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "zmtp.h"
#include "zmtp_peer.h"

typedef struct seen {
    int ready, messages, commands, dropped, error;
    size_t frames[8], n_frames;
    char last[512];
    char command[256];
    char why[160];
} seen;

/* Feed `data` `step` bytes at a time (0: all at once), recording events. */
static void feed(sm_zmtp_decoder *d, const unsigned char *data, size_t len,
                 size_t step, seen *s)
{
    size_t at = 0;
    while (at < len && !s->error) {
        size_t n = step && len - at > step ? step : len - at;
        size_t used = 0;
        while (used < n) {
            sm_zmtp_event ev;
            size_t u = sm_zmtp_decode(d, data + at + used, n - used, &ev);
            used += u;
            if (ev == SM_ZMTP_READY)
                s->ready++;
            if (ev == SM_ZMTP_COMMAND) {
                s->commands++;
                snprintf(s->command, sizeof s->command, "%s", d->command);
            }
            if (ev == SM_ZMTP_MESSAGE) {
                s->messages++;
                s->n_frames = d->n_frames;
                for (size_t i = 0; i < d->n_frames && i < 8; i++)
                    s->frames[i] = d->parts[i + 1].size;
                const sm_frame *last = &d->parts[d->n_frames];
                size_t k = last->size < 511 ? last->size : 511;
                memcpy(s->last, last->data, k);
                s->last[k] = 0;
            }
            if (ev == SM_ZMTP_DROPPED) {
                s->dropped++;
                snprintf(s->why, sizeof s->why, "%s", d->error);
            }
            if (ev == SM_ZMTP_ERROR) {
                s->error = 1;
                snprintf(s->why, sizeof s->why, "%s", d->error);
                return;
            }
        }
        at += n;
    }
}

/* Decode `b` with a fresh ROUTER decoder; `step` as in feed. */
static seen decode_all(sm_zmtp_buf *b, size_t step, sm_zmtp_decoder *d)
{
    seen s = {0};
    sm_zmtp_decoder_init(d, "ROUTER");
    feed(d, b->data + b->head, b->len - b->head, step, &s);
    return s;
}

TEST(zmtp_our_greeting_and_ready)
{
    sm_zmtp_buf b = {0};
    CHECK(sm_zmtp_put_handshake(&b, "ROUTER") == 0);
    CHECK(b.len > 64);
    CHECK(b.data[0] == 0xff && b.data[9] == 0x7f);
    CHECK(b.data[10] == 3 && b.data[11] == 0); /* we speak 3.0 */
    CHECK(memcmp(b.data + 12, "NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
    CHECK(b.data[32] == 0); /* not as-server */
    const unsigned char *r = b.data + 64;
    CHECK(r[0] == SM_ZMTP_FLAG_COMMAND);
    CHECK((size_t)r[1] + 2 == b.len - 64);
    CHECK(r[2] == 5 && memcmp(r + 3, "READY", 5) == 0);
    CHECK(r[8] == 11 && memcmp(r + 9, "Socket-Type", 11) == 0);
    CHECK(r[23] == 6 && memcmp(r + 24, "ROUTER", 6) == 0);
    CHECK(r[30] == 8 && memcmp(r + 31, "Identity", 8) == 0);
    CHECK(r[42] == 0 && b.len - 64 == 43);
    sm_zmtp_buf_free(&b);
    CHECK(sm_zmtp_put_handshake(&b, "XPUB") == 0);
    CHECK(b.len - 64 == 2 + 6 + 1 + 11 + 4 + 4); /* no Identity */
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_decodes_handshake_and_messages_however_split)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "DEALER", "client-7");
    sm_zmtp_put_frame(&b, "id", 2, SM_ZMTP_FLAG_MORE);
    sm_zmtp_put_frame(&b, "", 0, SM_ZMTP_FLAG_MORE);
    char big[300];
    memset(big, 'x', sizeof big);
    big[299] = 0;
    sm_zmtp_put_frame(&b, big, 300, 0); /* a long frame: 8-byte size */
    sm_zmtp_put_frame(&b, "second", 6, 0);
    size_t steps[] = {0, 1, 7, 65};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        sm_zmtp_decoder d;
        seen s = decode_all(&b, steps[i], &d);
        CHECK(!s.error);
        CHECK(s.ready == 1);
        CHECK_STR(d.peer_type, "DEALER");
        CHECK(d.identity_len == 8 && memcmp(d.identity, "client-7", 8) == 0);
        CHECK(s.messages == 2);
        CHECK_STR(s.last, "second");
        sm_zmtp_decoder_clear(&d);
    }
    /* the first message's frames, checked while it is the current event */
    sm_zmtp_decoder d;
    sm_zmtp_decoder_init(&d, "ROUTER");
    sm_zmtp_event ev;
    size_t used = 0;
    do
        used += sm_zmtp_decode(&d, b.data + used, b.len - used, &ev);
    while (ev != SM_ZMTP_MESSAGE && ev != SM_ZMTP_ERROR && used < b.len);
    CHECK(ev == SM_ZMTP_MESSAGE);
    CHECK(d.n_frames == 3);
    CHECK(d.parts[1].size == 2 && memcmp(d.parts[1].data, "id", 2) == 0);
    CHECK(d.parts[2].size == 0 && d.parts[2].data != NULL);
    CHECK(d.parts[3].size == 300 && memcmp(d.parts[3].data, big, 300) == 0);
    sm_zmtp_decoder_clear(&d);
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_incomplete_input_waits)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "REQ", NULL);
    sm_zmtp_put_frame(&b, "hello", 5, 0);
    for (size_t cut = 0; cut < b.len; cut++) {
        sm_zmtp_decoder d;
        sm_zmtp_decoder_init(&d, "REP");
        seen s = {0};
        feed(&d, b.data, cut, 0, &s);
        CHECK(!s.error);
        CHECK(s.messages == 0);
        feed(&d, b.data + cut, b.len - cut, 0, &s);
        CHECK(!s.error && s.ready == 1 && s.messages == 1);
        CHECK_STR(s.last, "hello");
        sm_zmtp_decoder_clear(&d);
    }
    sm_zmtp_buf_free(&b);
}

/* The decoder must refuse `bytes` (a whole stream), saying `why`. */
static void check_refused(const unsigned char *bytes, size_t len,
                          const char *type, const char *why)
{
    sm_zmtp_decoder d;
    sm_zmtp_decoder_init(&d, type);
    seen s = {0};
    feed(&d, bytes, len, 0, &s);
    CHECK(s.error);
    CHECK(strstr(s.why, why) != NULL);
    sm_zmtp_event ev;
    CHECK(sm_zmtp_decode(&d, bytes, len, &ev) == 0 && ev == SM_ZMTP_ERROR);
    sm_zmtp_decoder_clear(&d);
}

TEST(zmtp_bad_signatures_and_versions)
{
    check_refused((const unsigned char *)"GET / HTTP/1.1\r\n", 16, "ROUTER",
                  "bad signature");
    unsigned char g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7e};
    check_refused(g, 10, "ROUTER", "bad signature"); /* no 64 bytes needed */
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 2, "NULL", "DEALER", NULL);
    check_refused(b.data, 11, "ROUTER", "1.0 or 2.0");
    sm_zmtp_buf_free(&b);
    zpeer_put_handshake(&b, 3, "CURVE", "DEALER", NULL);
    check_refused(b.data, b.len, "ROUTER", "not NULL");
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_socket_types_checked)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "PUB", NULL);
    check_refused(b.data, b.len, "ROUTER", "socket type");
    sm_zmtp_buf_free(&b);
    zpeer_put_handshake(&b, 3, "NULL", "DEALER", NULL);
    check_refused(b.data, b.len, "XPUB", "socket type");
    sm_zmtp_buf_free(&b);
    CHECK(sm_zmtp_compatible("ROUTER", "DEALER"));
    CHECK(sm_zmtp_compatible("ROUTER", "REQ"));
    CHECK(sm_zmtp_compatible("REP", "REQ"));
    CHECK(sm_zmtp_compatible("XPUB", "SUB"));
    CHECK(!sm_zmtp_compatible("XPUB", "DEALER"));
    CHECK(!sm_zmtp_compatible("REP", "ROUTER"));
    CHECK(!sm_zmtp_compatible("ROUTER", "DEALER ROUTER"));
    CHECK(!sm_zmtp_compatible("ROUTER", ""));
}

TEST(zmtp_protocol_errors)
{
    sm_zmtp_buf b = {0};
    unsigned char g[64] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                           1,    0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    sm_zmtp_buf_append(&b, g, sizeof g);
    sm_zmtp_put_frame(&b, "hi", 2, 0);
    check_refused(b.data, b.len, "ROUTER", "before READY");
    sm_zmtp_buf_free(&b);

    sm_zmtp_buf_append(&b, g, sizeof g);
    sm_zmtp_put_frame(&b, "\x04PING", 5, SM_ZMTP_FLAG_COMMAND);
    check_refused(b.data, b.len, "ROUTER", "other than READY");
    sm_zmtp_buf_free(&b);

    zpeer_put_handshake(&b, 3, "NULL", "DEALER", NULL);
    size_t base = b.len;
    unsigned char bad_flags[2] = {0x10, 0};
    sm_zmtp_buf_append(&b, bad_flags, 2);
    check_refused(b.data, b.len, "ROUTER", "reserved");
    b.len = base;
    unsigned char more_cmd[3] = {SM_ZMTP_FLAG_COMMAND | SM_ZMTP_FLAG_MORE, 1,
                                 0};
    sm_zmtp_buf_append(&b, more_cmd, 3);
    check_refused(b.data, b.len, "ROUTER", "MORE");
    b.len = base;
    sm_zmtp_put_frame(&b, "a", 1, SM_ZMTP_FLAG_MORE);
    sm_zmtp_put_frame(&b, "\x04PING", 5, SM_ZMTP_FLAG_COMMAND);
    check_refused(b.data, b.len, "ROUTER", "inside a message");
    b.len = base;
    unsigned char huge[9] = {SM_ZMTP_FLAG_LONG, 0x80, 0, 0, 0, 0, 0, 0, 0};
    sm_zmtp_buf_append(&b, huge, 9);
    check_refused(b.data, b.len, "ROUTER", "2^63");
    b.len = base;
    unsigned char empty_cmd[2] = {SM_ZMTP_FLAG_COMMAND, 0};
    sm_zmtp_buf_append(&b, empty_cmd, 2);
    check_refused(b.data, b.len, "ROUTER", "malformed command");
    sm_zmtp_buf_free(&b);

    zpeer_put_handshake(&b, 3, "NULL", "DEALER", NULL);
    b.data[64 + 2 + 6] = 200; /* a metadata name running past the end */
    check_refused(b.data, b.len, "ROUTER", "metadata");
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_ping_and_subscribe_commands)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "SUB", NULL);
    sm_zmtp_put_frame(&b,
                      "\x04PING\x00\x0a"
                      "ctx",
                      10, SM_ZMTP_FLAG_COMMAND);
    sm_zmtp_decoder d;
    sm_zmtp_decoder_init(&d, "XPUB");
    seen s = {0};
    feed(&d, b.data, b.len, 0, &s);
    CHECK(!s.error && s.ready == 1 && s.commands == 1);
    CHECK_STR(s.command, "PING");
    CHECK(d.cmd_len == 5 && memcmp(d.cmd_body,
                                   "\x00\x0a"
                                   "ctx",
                                   5) == 0);
    sm_zmtp_buf pong = {0};
    CHECK(sm_zmtp_put_pong(&pong, d.cmd_body, d.cmd_len) == 0);
    CHECK(pong.len == 2 + 5 + 3);
    CHECK(pong.data[0] == SM_ZMTP_FLAG_COMMAND && pong.data[1] == 8);
    CHECK(memcmp(pong.data + 2, "\x04PONGctx", 8) == 0);
    sm_zmtp_buf_free(&pong);
    sm_zmtp_decoder_clear(&d);
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_oversize_message_is_skipped_not_kept)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "DEALER", NULL);
    sm_zmtp_decoder d;
    seen s = decode_all(&b, 0, &d);
    CHECK(s.ready == 1);
    /* one frame a byte over the limit, sent in 1 MiB pieces */
    uint64_t size = SM_ZMTP_MAX_MESSAGE + 1;
    unsigned char head[9] = {SM_ZMTP_FLAG_LONG};
    for (int i = 0; i < 8; i++)
        head[1 + i] = (unsigned char)(size >> (56 - 8 * i));
    feed(&d, head, sizeof head, 0, &s);
    size_t chunk = 1 << 20;
    unsigned char *zeros = calloc(1, chunk);
    for (uint64_t left = size; left && !s.error;) {
        size_t n = left < chunk ? (size_t)left : chunk;
        feed(&d, zeros, n, 0, &s);
        left -= n;
        CHECK(d.body == NULL); /* nothing of it is kept */
    }
    free(zeros);
    CHECK(!s.error && s.dropped == 1 && s.messages == 0);
    CHECK(strstr(s.why, "262144 KiB") != NULL);
    /* the connection goes on: the next message arrives */
    sm_zmtp_buf next = {0};
    sm_zmtp_put_frame(&next, "after", 5, 0);
    feed(&d, next.data, next.len, 0, &s);
    CHECK(s.messages == 1);
    CHECK_STR(s.last, "after");
    /* too many frames: dropped the same way */
    sm_zmtp_buf_free(&next);
    for (int i = 0; i < SM_ZMTP_MAX_FRAMES + 5; i++)
        sm_zmtp_put_frame(&next, "", 0, SM_ZMTP_FLAG_MORE);
    sm_zmtp_put_frame(&next, "end", 3, 0);
    sm_zmtp_put_frame(&next, "ok", 2, 0);
    feed(&d, next.data, next.len, 0, &s);
    CHECK(!s.error && s.dropped == 2 && s.messages == 2);
    CHECK_STR(s.last, "ok");
    CHECK(strstr(s.why, "frames") != NULL);
    sm_zmtp_buf_free(&next);
    sm_zmtp_decoder_clear(&d);
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_big_frame_grows_with_its_bytes)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "DEALER", NULL);
    sm_zmtp_decoder d;
    seen s = decode_all(&b, 0, &d);
    /* a 100 MiB frame that never comes: only what arrived is allocated */
    uint64_t size = (uint64_t)100 << 20;
    unsigned char head[9 + 10] = {SM_ZMTP_FLAG_LONG};
    for (int i = 0; i < 8; i++)
        head[1 + i] = (unsigned char)(size >> (56 - 8 * i));
    feed(&d, head, sizeof head, 0, &s);
    CHECK(!s.error && s.messages == 0);
    CHECK(d.body_cap <= (size_t)1 << 20);
    sm_zmtp_decoder_clear(&d);
    sm_zmtp_buf_free(&b);
}

TEST(zmtp_buffer_gives_back_big_allocations)
{
    sm_zmtp_buf b = {0};
    char small[100] = {0};
    CHECK(sm_zmtp_buf_append(&b, small, sizeof small) == 0);
    sm_zmtp_buf_consume(&b, 40);
    CHECK(b.head == 40 && b.len == 100);
    sm_zmtp_buf_consume(&b, 60);
    CHECK(b.len == 0 && b.data != NULL); /* a small one is kept */
    char *big = calloc(1, 1 << 20);
    CHECK(sm_zmtp_buf_append(&b, big, 1 << 20) == 0);
    sm_zmtp_buf_consume(&b, 1 << 20);
    CHECK(b.data == NULL && b.cap == 0);
    free(big);
    CHECK(sm_zmtp_frame_size(255) == 257 && sm_zmtp_frame_size(256) == 265);
}

TEST(zmtp_lowered_message_limit)
{
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", "REQ", NULL);
    char big[2000] = {0};
    sm_zmtp_put_frame(&b, "", 0, SM_ZMTP_FLAG_MORE);
    sm_zmtp_put_frame(&b, big, sizeof big, 0);
    sm_zmtp_put_frame(&b, "", 0, SM_ZMTP_FLAG_MORE);
    sm_zmtp_put_frame(&b, "ping", 4, 0);
    sm_zmtp_decoder d;
    sm_zmtp_decoder_init(&d, "REP");
    d.max_message = 1024;
    seen s = {0};
    feed(&d, b.data, b.len, 0, &s);
    CHECK(!s.error && s.dropped == 1 && s.messages == 1);
    CHECK_STR(s.last, "ping");
    CHECK(strstr(s.why, "1 KiB") != NULL);
    sm_zmtp_decoder_clear(&d);
    sm_zmtp_buf_free(&b);
}
