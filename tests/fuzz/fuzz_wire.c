/* fuzz_wire: libFuzzer target for sm_wire_decode. The input is frames
 * separated by the byte 0x1E; they are decoded with authentication on (a
 * fixed key), with it off, and once more with a signature made for them, so
 * the JSON parsing behind the signature check is reached as well. A decoded
 * message is encoded and decoded again and must come back the same.
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined with
 * common/ and kernel/wire.c). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define SEPARATOR 0x1E
#define MAX_FRAMES (SM_WIRE_MAX_IDENTS + 8)
#define KEY "fuzz-key-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: stop so libFuzzer keeps the input. */
static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_wire: invariant broken: %s\n", what);
        abort();
    }
}

static sm_wire_auth *auth_new(const char *key)
{
    sm_error err = {{0}};
    sm_wire_auth *auth =
        sm_wire_auth_new("hmac-sha256", key, strlen(key), &err);
    require(auth != NULL, "cannot make an authenticator");
    return auth;
}

/* Split the input at SEPARATOR into at most MAX_FRAMES frames. */
static size_t split_frames(const uint8_t *data, size_t size, sm_frame *frames)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_FRAMES; i++) {
        if (i == size || data[i] == SEPARATOR) {
            frames[n++] = (sm_frame){data + start, i - start};
            start = i + 1;
        }
    }
    return n;
}

/* Decode and check what every result must satisfy; returns decode's code. */
static int decode_checked(sm_wire_auth *auth, const sm_frame *frames, size_t n,
                          sm_wire_msg *msg, sm_error *err)
{
    sm_error_clear(err);
    int rc = sm_wire_decode(auth, frames, n, msg, err);
    if (rc) {
        require(rc == -1, "decode returned neither 0 nor -1");
        require(err->message[0] != '\0', "failure without a message");
        require(!msg->header && !msg->parent && !msg->metadata &&
                    !msg->content && msg->n_idents == 0,
                "failure left the message filled");
        return rc;
    }
    require(json_is_object(msg->header) && json_is_object(msg->parent) &&
                json_is_object(msg->metadata) && json_is_object(msg->content),
            "a decoded part is not an object");
    require(msg->msg_type && msg->msg_id, "decoded without type or id");
    require(msg->n_idents <= SM_WIRE_MAX_IDENTS, "too many identities");
    return 0;
}

/* Index of the delimiter frame, or -1. */
static long delimiter_at(const sm_frame *frames, size_t n)
{
    for (size_t i = 0; i < n && i <= SM_WIRE_MAX_IDENTS; i++)
        if (frames[i].size == 9 &&
            memcmp(frames[i].data, SM_WIRE_DELIMITER, 9) == 0)
            return (long)i;
    return -1;
}

/* Lowercase hex HMAC-SHA256 of four parts, computed apart from wire.c. */
static void sign(const sm_frame *parts, char hex[65])
{
    size_t total = 0, at = 0;
    for (int i = 0; i < 4; i++)
        total += parts[i].size;
    unsigned char *joined = malloc(total + 1), mac[EVP_MAX_MD_SIZE];
    require(joined != NULL, "out of memory");
    for (int i = 0; i < 4; i++) {
        if (parts[i].size)
            memcpy(joined + at, parts[i].data, parts[i].size);
        at += parts[i].size;
    }
    unsigned int len = 0;
    HMAC(EVP_sha256(), KEY, (int)strlen(KEY), joined, total, mac, &len);
    free(joined);
    require(len == 32, "HMAC-SHA256 is not 32 bytes");
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

/* Whether `message` blames the JSON, the only thing that may be wrong with
 * a message whose framing and signature are right. */
static int json_fault(const char *message)
{
    static const char *const exact[] = {
        "header is not a JSON object", "parent_header is not a JSON object",
        "metadata is not a JSON object", "content is not a JSON object",
        "header lacks msg_type or msg_id"};
    if (strncmp(message, "bad JSON in ", 12) == 0)
        return 1;
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(message, exact[i]) == 0)
            return 1;
    return 0;
}

/* A message made of the input: its own framing when it has a delimiter
 * followed by five frames, else the first frames as the four parts. The
 * signature frame is replaced by a valid one. Returns the frame count. */
static size_t signed_message(const sm_frame *in, size_t n, sm_frame *out,
                             char hex[65])
{
    static const sm_frame empty = {"{}", 2};
    long d = delimiter_at(in, n);
    size_t count;
    if (d >= 0 && n - (size_t)d >= 6) {
        count = n;
        memcpy(out, in, n * sizeof *in);
    } else {
        d = 0;
        out[0] = (sm_frame){SM_WIRE_DELIMITER, 9};
        for (size_t i = 0; i < 4; i++)
            out[2 + i] = i < n ? in[i] : empty;
        count = 6;
    }
    sign(&out[d + 2], hex);
    out[d + 1] = (sm_frame){hex, 64};
    return count;
}

/* Encode a decoded message again and decode that: it must be the same. */
static void round_trip(const sm_wire_msg *msg)
{
    sm_wire_auth *auth = auth_new("round-trip");
    sm_wire_out out;
    int rc = sm_wire_encode(auth, msg->idents, msg->n_idents, msg->header,
                            msg->parent, msg->metadata, msg->content, &out);
    require(rc == 0, "cannot encode a decoded message");
    sm_wire_msg again;
    sm_error err = {{0}};
    require(decode_checked(auth, out.frames, out.count, &again, &err) == 0,
            "an encoded message does not decode");
    require(again.n_idents == msg->n_idents, "identities lost");
    for (size_t i = 0; i < msg->n_idents; i++)
        require(again.idents[i].size == msg->idents[i].size &&
                    memcmp(again.idents[i].data, msg->idents[i].data,
                           msg->idents[i].size) == 0,
                "an identity changed");
    require(json_equal(again.header, msg->header) &&
                json_equal(again.parent, msg->parent) &&
                json_equal(again.metadata, msg->metadata) &&
                json_equal(again.content, msg->content),
            "a part changed on the round trip");
    sm_wire_msg_clear(&again);
    sm_wire_out_clear(&out);
    sm_wire_auth_destroy(&auth);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Kept across inputs: the replay guard fills, rotates and stays
     * bounded over a long run. */
    static sm_wire_auth *on, *off;
    if (!on) {
        on = auth_new(KEY);
        off = auth_new("");
    }
    sm_frame frames[MAX_FRAMES], framed[MAX_FRAMES];
    size_t n = split_frames(data, size, frames);
    sm_wire_msg msg;
    sm_error err;

    decode_checked(on, frames, n, &msg, &err);
    sm_wire_msg_clear(&msg);
    if (decode_checked(off, frames, n, &msg, &err) == 0)
        round_trip(&msg);
    sm_wire_msg_clear(&msg);

    /* With a valid signature under a fresh authenticator the outcome is
     * decided by the JSON alone, the same for every run of this input. */
    char hex[65];
    size_t count = signed_message(frames, n, framed, hex);
    sm_wire_auth *fresh = auth_new(KEY);
    int rc = decode_checked(fresh, framed, count, &msg, &err);
    require(rc == 0 || json_fault(err.message),
            "a well-framed, validly signed message was refused");
    sm_wire_msg_clear(&msg);
    if (rc == 0) {
        require(decode_checked(fresh, framed, count, &msg, &err) == -1 &&
                    strcmp(err.message,
                           "duplicate signature (replayed message)") == 0,
                "a replayed message was accepted");
        int off_rc = decode_checked(off, framed, count, &msg, &err);
        require(off_rc == 0, "accepted when signed, refused unsigned");
        sm_wire_msg_clear(&msg);
    }
    decode_checked(on, framed, count, &msg, &err); /* may be a replay */
    sm_wire_msg_clear(&msg);
    sm_wire_auth_destroy(&fresh);
    return 0;
}
