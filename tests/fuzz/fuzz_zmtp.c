/* fuzz_zmtp: libFuzzer target for the ZMTP decoder. The input is a stream
 * from a peer, decoded by each of the kernel's socket types, once whole and
 * once cut at a point the first byte chooses; after a valid greeting and
 * READY (prepended to half the runs, so frames are reached) the same events
 * must come out however the stream is split. Every message is walked so a
 * frame pointing at freed or short memory is caught by ASan.
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined with
 * common/ and kernel/zmtp.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_zmtp: invariant broken: %s\n", what);
        abort();
    }
}

/* A running summary of the events of one decoding. */
typedef struct trace {
    unsigned long events, hash;
    int error;
} trace;

static void note(trace *t, unsigned long v)
{
    t->hash = t->hash * 1000003u ^ v;
    t->events++;
}

static void record(sm_zmtp_decoder *d, sm_zmtp_event ev, trace *t)
{
    if (ev == SM_ZMTP_NEED_MORE)
        return;
    note(t, (unsigned long)ev);
    if (ev == SM_ZMTP_MESSAGE) {
        require(d->n_frames >= 1, "a message has frames");
        for (size_t i = 1; i <= d->n_frames; i++) {
            const unsigned char *p = d->parts[i].data;
            require(p != NULL, "frame data is never NULL");
            unsigned long sum = d->parts[i].size;
            for (size_t k = 0; k < d->parts[i].size; k++)
                sum = sum * 31 + p[k];
            note(t, sum);
        }
    } else if (ev == SM_ZMTP_COMMAND) {
        note(t, d->cmd_len);
        require(strlen(d->command) < sizeof d->command, "command name fits");
    } else if (ev == SM_ZMTP_READY) {
        require(sm_zmtp_compatible(d->our_type, d->peer_type), "type fits");
    } else if (ev == SM_ZMTP_ERROR) {
        t->error = 1;
    }
}

static void run(const char *type, const uint8_t *data, size_t size, size_t cut,
                trace *t)
{
    sm_zmtp_decoder d;
    sm_zmtp_decoder_init(&d, type);
    size_t pieces[2][2] = {{0, cut}, {cut, size}};
    for (int i = 0; i < 2 && !t->error; i++) {
        size_t at = pieces[i][0];
        while (at < pieces[i][1] && !t->error) {
            sm_zmtp_event ev;
            size_t used = sm_zmtp_decode(&d, data + at, pieces[i][1] - at, &ev);
            require(used <= pieces[i][1] - at, "consumed what was given");
            require(used > 0 || ev != SM_ZMTP_NEED_MORE, "progress");
            at += used;
            record(&d, ev, t);
        }
    }
    sm_zmtp_decoder_clear(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"ROUTER", "REP", "XPUB"};
    static const char *const peers[] = {"DEALER", "REQ", "SUB"};
    if (size < 1)
        return 0;
    int prepend = data[0] & 1;
    size_t choice = data[0] >> 1;
    data++;
    size--;
    for (int k = 0; k < 3; k++) {
        sm_zmtp_buf b = {0};
        if (prepend)
            sm_zmtp_put_handshake(&b, peers[k]);
        sm_zmtp_buf_append(&b, data, size);
        const uint8_t *in = b.data ? b.data : data;
        size_t n = b.len;
        trace whole = {0}, split = {0};
        run(types[k], in, n, n, &whole);
        run(types[k], in, n, n ? choice % (n + 1) : 0, &split);
        require(whole.events == split.events && whole.hash == split.hash,
                "the same events however the input is split");
        sm_zmtp_buf_free(&b);
    }
    return 0;
}
