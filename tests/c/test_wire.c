/* test_wire: framing, signing, every rejection path of sm_wire_decode, the
 * replay guard's memory, and the header helpers. */
#include <jansson.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wire.h"

#define KEY "0123456789abcdef-test-key"

/* ---- helpers ------------------------------------------------------------ */

/* Frames of a message as text; `sig` NULL means "sign the parts with KEY". */
typedef struct raw_msg {
    const char *frames[12];
    size_t n;
    char sig[2 * EVP_MAX_MD_SIZE + 1];
    sm_frame out[12];
} raw_msg;

/* Lowercase hex HMAC-SHA256 of the four parts under KEY, computed with
 * OpenSSL directly so the test does not trust the signer it checks. */
static void hmac_hex(const char *const parts[4], char *hex)
{
    size_t total = 0;
    for (int i = 0; i < 4; i++)
        total += strlen(parts[i]);
    unsigned char *joined = malloc(total + 1), mac[EVP_MAX_MD_SIZE];
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(joined + at, parts[i], strlen(parts[i]));
        at += strlen(parts[i]);
    }
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), KEY, (int)strlen(KEY), joined, total, mac, &mac_len);
    free(joined);
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

/* idents..., delimiter, signature, header, parent, metadata, content. */
static sm_frame *raw_frames(raw_msg *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *s = m->frames[i];
        m->out[i] = (sm_frame){s, strlen(s)};
    }
    return m->out;
}

/* A message with `n_idents` identities whose signature frame is valid. */
static void raw_signed(raw_msg *m, const char *header, const char *parent,
                       const char *metadata, const char *content)
{
    const char *parts[4] = {header, parent, metadata, content};
    hmac_hex(parts, m->sig);
    size_t n = 0;
    m->frames[n++] = "ident-1";
    m->frames[n++] = SM_WIRE_DELIMITER;
    m->frames[n++] = m->sig;
    for (int i = 0; i < 4; i++)
        m->frames[n++] = parts[i];
    m->n = n;
}

#define HEADER_OK "{\"msg_id\":\"m1\",\"msg_type\":\"kernel_info_request\"}"

static sm_wire_auth *auth_on(void)
{
    sm_error err = {{0}};
    return sm_wire_auth_new("hmac-sha256", KEY, strlen(KEY), &err);
}

/* Decode `m` with `auth`; the error message, or "" on success. */
static const char *decode_error(sm_wire_auth *auth, raw_msg *m, sm_error *err)
{
    sm_wire_msg msg;
    sm_error_clear(err);
    int rc = sm_wire_decode(auth, raw_frames(m), m->n, &msg, err);
    int empty = !msg.header && !msg.parent && !msg.metadata && !msg.content &&
                msg.n_idents == 0;
    sm_wire_msg_clear(&msg);
    if (rc == 0)
        return err->message[0] ? "success with an error message" : "";
    if (!empty)
        return "failure left the message filled";
    return err->message[0] ? err->message : "failure without a message";
}

/* ---- round trip ---------------------------------------------------------- */

TEST(wire_encode_decode_round_trip)
{
    sm_wire_auth *auth = auth_on();
    CHECK(auth);
    json_t *header = sm_wire_header_new("session-1", "execute_request");
    json_t *content = json_pack("{s:s, s:b}", "code", "1 + 1 é", "silent", 0);
    sm_frame idents[2] = {{"\x00\x01id", 4}, {"second", 6}};
    sm_wire_out out;
    CHECK(sm_wire_encode(auth, idents, 2, header, NULL, NULL, content, &out) ==
          0);
    CHECK(out.count == 8);
    CHECK(out.frames[2].size == strlen(SM_WIRE_DELIMITER));
    CHECK(memcmp(out.frames[2].data, SM_WIRE_DELIMITER, 9) == 0);
    CHECK(out.frames[3].size == 64);
    CHECK(out.frames[5].size == 2 && memcmp(out.frames[5].data, "{}", 2) == 0);

    /* The signature is HMAC-SHA256 over the four JSON parts, hex. */
    char *parts[4], want[2 * EVP_MAX_MD_SIZE + 1];
    for (int i = 0; i < 4; i++)
        parts[i] = strndup(out.frames[4 + i].data, out.frames[4 + i].size);
    hmac_hex((const char *const *)parts, want);
    for (int i = 0; i < 4; i++)
        free(parts[i]);
    CHECK(memcmp(out.frames[3].data, want, 64) == 0);

    sm_wire_msg msg;
    sm_error err = {{0}};
    CHECK(sm_wire_decode(auth, out.frames, out.count, &msg, &err) == 0);
    CHECK_STR(err.message, "");
    CHECK_STR(msg.msg_type, "execute_request");
    CHECK_STR(msg.msg_id, json_string_value(json_object_get(header, "msg_id")));
    CHECK(json_equal(msg.header, header));
    CHECK(json_equal(msg.content, content));
    CHECK(json_is_object(msg.parent) && json_object_size(msg.parent) == 0);
    CHECK(json_is_object(msg.metadata) && json_object_size(msg.metadata) == 0);

    /* Identities are copies: they outlive the frames they came from. */
    CHECK(msg.n_idents == 2);
    CHECK(msg.idents[0].data != out.frames[0].data);
    sm_wire_out_clear(&out);
    CHECK(out.count == 0);
    CHECK(msg.idents[0].size == 4 &&
          memcmp(msg.idents[0].data, "\x00\x01id", 4) == 0);
    CHECK(msg.idents[1].size == 6 &&
          memcmp(msg.idents[1].data, "second", 6) == 0);

    sm_wire_msg_clear(&msg);
    CHECK(msg.header == NULL && msg.n_idents == 0 && msg.msg_type == NULL);
    json_decref(header);
    json_decref(content);
    sm_wire_auth_destroy(&auth);
    CHECK(auth == NULL);
}

TEST(wire_decode_accepts_independently_signed_message)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{\"a\":[1,2]}");
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_decode_ignores_extra_buffer_frames)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.frames[m.n++] = "binary buffer";
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "");
    sm_wire_auth_destroy(&auth);
}

/* ---- rejections ---------------------------------------------------------- */

TEST(wire_rejects_missing_delimiter)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.frames[1] = "<IDS|MSG"; /* one byte short */
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err),
              "no <IDS|MSG> delimiter in the first 17 frames");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_delimiter_past_the_identity_limit)
{
    sm_wire_auth *auth = auth_on();
    sm_frame frames[SM_WIRE_MAX_IDENTS + 7];
    size_t n = 0;
    for (int i = 0; i < SM_WIRE_MAX_IDENTS + 1; i++)
        frames[n++] = (sm_frame){"id", 2};
    frames[n++] = (sm_frame){SM_WIRE_DELIMITER, 9};
    for (int i = 0; i < 5; i++)
        frames[n++] = (sm_frame){"{}", 2};
    sm_wire_msg msg;
    sm_error err = {{0}};
    CHECK(sm_wire_decode(auth, frames, n, &msg, &err) == -1);
    CHECK_STR(err.message, "no <IDS|MSG> delimiter in the first 17 frames");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_too_few_frames)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.n--; /* no content frame */
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err),
              "malformed message: 4 frames after the delimiter, need at "
              "least 5");
    m.n = 2; /* ident and delimiter only */
    CHECK_STR(decode_error(auth, &m, &err),
              "malformed message: 0 frames after the delimiter, need at "
              "least 5");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_empty_signature_when_auth_is_on)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.frames[2] = "";
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "unsigned message");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_wrong_length_signature)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.sig[63] = '\0'; /* 63 of 64 hex digits */
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "invalid signature (wrong length)");
    strcat(m.sig, "00"); /* 65 */
    CHECK_STR(decode_error(auth, &m, &err), "invalid signature (wrong length)");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_wrong_signature)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.sig[10] = m.sig[10] == '0' ? '1' : '0';
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "invalid signature");
    /* A valid signature of different parts does not carry over. */
    raw_msg other;
    raw_signed(&other, HEADER_OK, "{}", "{}", "{\"x\":1}");
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    memcpy(m.sig, other.sig, sizeof m.sig);
    CHECK_STR(decode_error(auth, &m, &err), "invalid signature");
    /* Uppercase hex is a different string: the signature is compared as
     * the text Jupyter sends. */
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    for (char *p = m.sig; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK_STR(decode_error(auth, &m, &err), "invalid signature");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_replayed_message)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    sm_error err = {{0}};
    CHECK_STR(decode_error(auth, &m, &err), "");
    CHECK_STR(decode_error(auth, &m, &err),
              "duplicate signature (replayed message)");
    /* A second authenticator has its own memory. */
    sm_wire_auth *fresh = auth_on();
    CHECK_STR(decode_error(fresh, &m, &err), "");
    sm_wire_auth_destroy(&fresh);
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_bad_json_parts)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    sm_error err = {{0}};
    raw_signed(&m, HEADER_OK, "{}", "{}", "[1]");
    CHECK_STR(decode_error(auth, &m, &err), "content is not a JSON object");
    raw_signed(&m, HEADER_OK, "{}", "[]", "{}");
    CHECK_STR(decode_error(auth, &m, &err), "metadata is not a JSON object");
    /* Scalars are not even JSON texts to a parser without JSON_DECODE_ANY. */
    raw_signed(&m, HEADER_OK, "\"x\"", "{}", "{}");
    const char *got = decode_error(auth, &m, &err);
    CHECK(strncmp(got, "bad JSON in parent_header: ", 27) == 0);
    raw_signed(&m, "{\"msg_id\":", "{}", "{}", "{}");
    got = decode_error(auth, &m, &err);
    CHECK(strncmp(got, "bad JSON in header: ", 20) == 0);
    raw_signed(&m, HEADER_OK, "{} {}", "{}", "{}");
    got = decode_error(auth, &m, &err);
    CHECK(strncmp(got, "bad JSON in parent_header: ", 27) == 0);
    sm_wire_auth_destroy(&auth);
}

TEST(wire_rejects_header_without_type_or_id)
{
    sm_wire_auth *auth = auth_on();
    raw_msg m;
    sm_error err = {{0}};
    raw_signed(&m, "{\"msg_id\":\"m2\"}", "{}", "{}", "{}");
    CHECK_STR(decode_error(auth, &m, &err), "header lacks msg_type or msg_id");
    raw_signed(&m, "{\"msg_type\":\"kernel_info_request\"}", "{}", "{}", "{}");
    CHECK_STR(decode_error(auth, &m, &err), "header lacks msg_type or msg_id");
    raw_signed(&m, "{\"msg_id\":3,\"msg_type\":\"kernel_info_request\"}", "{}",
               "{}", "{}");
    CHECK_STR(decode_error(auth, &m, &err), "header lacks msg_type or msg_id");
    sm_wire_auth_destroy(&auth);
}

/* ---- authentication off -------------------------------------------------- */

TEST(wire_auth_off_with_empty_key_accepts_unsigned)
{
    sm_error err = {{0}};
    sm_wire_auth *auth = sm_wire_auth_new("hmac-sha256", "", 0, &err);
    CHECK(auth);
    CHECK_STR(err.message, "");
    raw_msg m;
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.frames[2] = "";
    CHECK_STR(decode_error(auth, &m, &err), "");
    m.frames[2] = "anything at all";
    CHECK_STR(decode_error(auth, &m, &err), "");
    /* Framing and JSON are still checked. */
    m.frames[1] = "no delimiter";
    CHECK_STR(decode_error(auth, &m, &err),
              "no <IDS|MSG> delimiter in the first 17 frames");

    /* Messages it encodes carry an empty signature. */
    json_t *header = sm_wire_header_new("s", "status");
    sm_wire_out out;
    CHECK(sm_wire_encode(auth, NULL, 0, header, NULL, NULL, header, &out) == 0);
    CHECK(out.count == 6 && out.frames[1].size == 0);
    sm_wire_out_clear(&out);
    json_decref(header);
    sm_wire_auth_destroy(&auth);

    auth = sm_wire_auth_new("none", KEY, strlen(KEY), &err);
    CHECK(auth);
    raw_signed(&m, HEADER_OK, "{}", "{}", "{}");
    m.frames[2] = "";
    CHECK_STR(decode_error(auth, &m, &err), "");
    sm_wire_auth_destroy(&auth);
}

TEST(wire_auth_other_hmac_digests)
{
    sm_error err = {{0}};
    sm_wire_auth *auth =
        sm_wire_auth_new("hmac-sha512", KEY, strlen(KEY), &err);
    CHECK(auth);
    json_t *header = sm_wire_header_new("s", "status");
    sm_wire_out out;
    CHECK(sm_wire_encode(auth, NULL, 0, header, NULL, NULL, header, &out) == 0);
    CHECK(out.frames[1].size == 128);
    sm_wire_msg msg;
    CHECK(sm_wire_decode(auth, out.frames, out.count, &msg, &err) == 0);
    sm_wire_msg_clear(&msg);
    sm_wire_out_clear(&out);
    json_decref(header);
    sm_wire_auth_destroy(&auth);
}

TEST(wire_auth_rejects_unknown_scheme)
{
    sm_error err = {{0}};
    CHECK(sm_wire_auth_new("hmac-nosuchhash", KEY, strlen(KEY), &err) == NULL);
    CHECK_STR(err.message, "unsupported signature_scheme 'hmac-nosuchhash' "
                           "(hmac-sha256 and hmac-sha512 are supported)");
    sm_error_clear(&err);
    CHECK(sm_wire_auth_new("rsa-sha256", KEY, strlen(KEY), &err) == NULL);
    CHECK_STR(err.message, "unsupported signature_scheme 'rsa-sha256' "
                           "(hmac-sha256 and hmac-sha512 are supported)");
}

TEST(wire_encode_rejects_too_many_identities)
{
    sm_wire_auth *auth = auth_on();
    sm_frame idents[SM_WIRE_MAX_IDENTS + 1];
    for (int i = 0; i < SM_WIRE_MAX_IDENTS + 1; i++)
        idents[i] = (sm_frame){"id", 2};
    json_t *header = sm_wire_header_new("s", "status");
    sm_wire_out out;
    CHECK(sm_wire_encode(auth, idents, SM_WIRE_MAX_IDENTS + 1, header, NULL,
                         NULL, header, &out) == -1);
    CHECK(out.count == 0);
    /* The most it takes round-trips. */
    CHECK(sm_wire_encode(auth, idents, SM_WIRE_MAX_IDENTS, header, NULL, NULL,
                         header, &out) == 0);
    sm_wire_msg msg;
    sm_error err = {{0}};
    CHECK(sm_wire_decode(auth, out.frames, out.count, &msg, &err) == 0);
    CHECK(msg.n_idents == SM_WIRE_MAX_IDENTS);
    sm_wire_msg_clear(&msg);
    sm_wire_out_clear(&out);
    json_decref(header);
    sm_wire_auth_destroy(&auth);
}

/* ---- replay guard memory ------------------------------------------------- */

#define REPLAY_MESSAGES 100000
#define REPLAY_REMEMBERED 8192 /* REPLAY_WINDOW in wire.c */

/* Bytes malloc has handed out and not taken back (0 where unknown, as
 * under ASan, whose allocator glibc does not see). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* big blocks are mmapped: hblkhd */
}

static void numbered_header(char *buf, size_t size, int i)
{
    snprintf(buf, size, "{\"msg_id\":\"m-%d\",\"msg_type\":\"t\"}", i);
}

TEST(wire_replay_guard_remembers_recent_and_stays_bounded)
{
    sm_wire_auth *auth = auth_on();
    size_t before = heap_in_use(), peak = 0;
    sm_error err = {{0}};
    char header[64];
    raw_msg m;
    int rejected = 0;
    for (int i = 0; i < REPLAY_MESSAGES; i++) {
        numbered_header(header, sizeof header, i);
        raw_signed(&m, header, "{}", "{}", "{}");
        if (decode_error(auth, &m, &err)[0])
            rejected++;
        size_t now = heap_in_use();
        if (now > peak)
            peak = now;
    }
    CHECK(rejected == 0); /* no false alarms among fresh messages */

    /* The replay guard is allocated whole when the authenticator is made
     * (96 KiB), so the messages add nothing that stays. */
    CHECK(peak < before + (64u << 10));

    int remembered = 0;
    for (int i = REPLAY_MESSAGES - REPLAY_REMEMBERED; i < REPLAY_MESSAGES;
         i++) {
        numbered_header(header, sizeof header, i);
        raw_signed(&m, header, "{}", "{}", "{}");
        if (strcmp(decode_error(auth, &m, &err),
                   "duplicate signature (replayed message)") == 0)
            remembered++;
    }
    CHECK(remembered == REPLAY_REMEMBERED);
    sm_wire_auth_destroy(&auth);
}

/* ---- headers ------------------------------------------------------------- */

TEST(wire_iso8601_pads_microseconds)
{
    char buf[40];
    sm_wire_iso8601(buf, sizeof buf, 0, 5);
    CHECK_STR(buf, "1970-01-01T00:00:00.000005Z");
    sm_wire_iso8601(buf, sizeof buf, 1440938160, 0);
    CHECK_STR(buf, "2015-08-30T12:36:00.000000Z");
    sm_wire_iso8601(buf, sizeof buf, 1704164645, 999999);
    CHECK_STR(buf, "2024-01-02T03:04:05.999999Z");
    sm_wire_iso8601(buf, sizeof buf, 951782400, 120);
    CHECK_STR(buf, "2000-02-29T00:00:00.000120Z");
}

static int is_uuid4(const char *s)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return 0;
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

TEST(wire_uuid_shape)
{
    char a[37], b[37];
    memset(a, 'x', sizeof a);
    sm_wire_uuid(a);
    sm_wire_uuid(b);
    CHECK(is_uuid4(a));
    CHECK(is_uuid4(b));
    CHECK(strcmp(a, b) != 0);
}

TEST(wire_header_fields)
{
    json_t *h = sm_wire_header_new("sess-9", "status");
    CHECK(h);
    CHECK(is_uuid4(json_string_value(json_object_get(h, "msg_id"))));
    CHECK_STR(json_string_value(json_object_get(h, "session")), "sess-9");
    CHECK_STR(json_string_value(json_object_get(h, "msg_type")), "status");
    CHECK_STR(json_string_value(json_object_get(h, "version")), "5.5");
    CHECK_STR(json_string_value(json_object_get(h, "username")), "sagemagic");
    const char *date = json_string_value(json_object_get(h, "date"));
    CHECK(date && strlen(date) == 27);
    CHECK(date[4] == '-' && date[10] == 'T' && date[19] == '.' &&
          date[26] == 'Z');
    CHECK(strncmp(date, "20", 2) == 0);
    json_decref(h);
}
