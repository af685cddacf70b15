/* fuzz_slack: libFuzzer target for what Slack sends forestall (src/notify/slack.c) and the
 * console's login form (src/intake/api_console.c): the form decoder, an interactivity callback
 * (form body with a JSON payload), an Events API body, a thread reply's verb, and a form field
 * read into a fixed buffer. Whatever the bytes: a clear refusal or a parse whose fixed-size
 * fields are NUL-terminated and whose verb is one of the known ones — never a crash, a leak or
 * undefined behaviour. The signature check runs first in the daemon; here the parsers are fed
 * directly, as if a signed request carried hostile content. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake/console.h"
#include "notify/slack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f)                                                                              \
    do {                                                                                           \
        if (!memchr((f), '\0', sizeof(f)))                                                         \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct fs_err err = {0};

    char *decoded = fs_form_decode(body, size);
    free(decoded);
    char *payload = fs_form_field(body, size, "payload");
    free(payload);

    struct fs_slack_action a;
    memset(&a, 0, sizeof(a));
    if (fs_slack_parse_interaction(body, size, &a, &err) == 0) {
        TERMINATED(a.user_id);
        TERMINATED(a.user_name);
        TERMINATED(a.team_id);
        TERMINATED(a.channel_id);
        TERMINATED(a.message_ts);
        TERMINATED(a.response_url);
        if (a.verb != FS_SLACK_NONE && a.verb != FS_SLACK_APPROVE && a.verb != FS_SLACK_REJECT &&
            a.verb != FS_SLACK_FORCE)
            abort();
    }

    struct fs_slack_event e;
    memset(&e, 0, sizeof(e));
    if (fs_slack_parse_event(body, size, &e, &err) == 0) {
        TERMINATED(e.challenge);
        TERMINATED(e.event_id);
        TERMINATED(e.user_id);
        TERMINATED(e.channel_id);
        TERMINATED(e.thread_ts);
        TERMINATED(e.ts);
        if (e.kind == FS_SLACK_EV_REPLY && e.verb != FS_SLACK_APPROVE && e.verb != FS_SLACK_FORCE)
            abort();
    }

    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        enum fs_slack_verb v = fs_slack_reply_verb(text);
        if (v != FS_SLACK_NONE && v != FS_SLACK_APPROVE && v != FS_SLACK_FORCE)
            abort();
        free(text);
    }

    char value[128];
    if (fs_console_form_value(body, size, "token", value, sizeof(value)) == 0 &&
        !memchr(value, '\0', sizeof(value)))
        abort();
    return 0;
}
