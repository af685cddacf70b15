/* channels: the table of channel kinds (struct fs_channel_kind), one row per type that
 * notify.channels[].type may name. Each kind lives in its own file (webhook.c, pagerduty.c,
 * slack.c, email.c, jira.c); this file only lists them. The order matches
 * FS_CONFIG_NOTIFY_TYPES (core/config.h; a unit test checks). */
#include "core/common.h"

#include "notify/notify.h"

extern const struct fs_channel_kind fs_channel_webhook;   /* webhook.c */
extern const struct fs_channel_kind fs_channel_pagerduty; /* pagerduty.c */
extern const struct fs_channel_kind fs_channel_slack;     /* slack.c */
extern const struct fs_channel_kind fs_channel_email;     /* email.c */
extern const struct fs_channel_kind fs_channel_jira;      /* jira.c */

static const struct fs_channel_kind *const kinds[] = {
    &fs_channel_webhook, &fs_channel_pagerduty, &fs_channel_slack,
    &fs_channel_email,   &fs_channel_jira,
};

const struct fs_channel_kind *fs_channel_kind_find(const char *type)
{
    for (size_t i = 0; type && i < FS_ARRAY_LEN(kinds); i++)
        if (strcmp(kinds[i]->type, type) == 0)
            return kinds[i];
    return NULL;
}

const struct fs_channel_kind *fs_channel_kind_at(size_t i)
{
    return i < FS_ARRAY_LEN(kinds) ? kinds[i] : NULL;
}
