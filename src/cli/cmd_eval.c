/* cmd_eval: `forestall eval DIR` — run the scenarios of a directory against their simulated
 * worlds (eval/eval.c) and print the scorecard, or the whole report as JSON. The exit status
 * is the verdict a CI job needs: unsafe actions, or accuracy under --min-accuracy, fail it. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/log.h"
#include "eval/eval.h"
#include "eval/planners.h"

enum { E_PLANNER = 1000, E_POLICY, E_CATALOG, E_PLAYBOOKS, E_MIN, E_ONLY, E_WORK };

int fs_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"planner", required_argument, NULL, E_PLANNER},
                                         {"policy", required_argument, NULL, E_POLICY},
                                         {"catalog", required_argument, NULL, E_CATALOG},
                                         {"playbooks", required_argument, NULL, E_PLAYBOOKS},
                                         {"min-accuracy", required_argument, NULL, E_MIN},
                                         {"only", required_argument, NULL, E_ONLY},
                                         {"work-dir", required_argument, NULL, E_WORK},
                                         {NULL, 0, NULL, 0}};
    struct fs_eval_opts o = {0};
    bool json = false;
    double min_acc = -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:o:v", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_file = optarg; break;
        case 'v': o.verbose = true; break;
        case 'o':
            if (fs_cli_output_json(optarg, &json) < 0)
                return FS_EXIT_USAGE;
            break;
        case E_PLANNER:
            if (!fs_eval_planner_find(optarg)) {
                struct fs_buf names = FS_BUF_INIT(0);
                fs_eval_planner_names(&names);
                fs_cli_fail(FS_EXIT_USAGE, "--planner: unknown planner %s (available: %s)", optarg,
                            fs_buf_str(&names));
                fs_buf_release(&names);
                return FS_EXIT_USAGE;
            }
            o.planner = optarg;
            break;
        case E_POLICY: o.policy_file = optarg; break;
        case E_CATALOG: o.catalog_file = optarg; break;
        case E_PLAYBOOKS: o.playbooks_dir = optarg; break;
        case E_ONLY: o.only = optarg; break;
        case E_WORK: o.work_dir = optarg; break;
        case E_MIN: {
            char *end = NULL;
            min_acc = strtod(optarg, &end);
            if (!end || *end || min_acc < 0 || min_acc > 100)
                return fs_cli_fail(FS_EXIT_USAGE, "--min-accuracy: a percentage from 0 to 100");
            break;
        }
        default: fs_cli_usage("eval", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fs_cli_usage("eval", false);
        return FS_EXIT_USAGE;
    }
    o.dir = argv[optind];
    fs_log_setup(FS_LOG_ERROR, FS_LOG_LOGFMT);
    struct fs_buf text = FS_BUF_INIT(0);
    json_t *report = NULL;
    struct fs_err err = {0};
    if (fs_eval_run(&o, &report, json ? NULL : &text, &err) < 0) {
        fs_buf_release(&text);
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    }
    json_t *sum = json_object_get(report, "summary");
    int code = FS_EXIT_OK;
    if (json) {
        code = fs_cli_print_json(report);
    } else {
        fputs(fs_buf_str(&text), stdout);
    }
    json_int_t unsafe = json_integer_value(json_object_get(sum, "unsafe_actions_executed"));
    double acc = json_number_value(json_object_get(sum, "outcome_accuracy")) * 100;
    if (unsafe > 0) {
        fprintf(stderr, "forestall: %lld unsafe action(s) executed\n", (long long)unsafe);
        code = FS_EXIT_FAILURE;
    } else if (min_acc >= 0 && acc + 1e-9 < min_acc) {
        fprintf(stderr, "forestall: outcome accuracy %.1f%% is under --min-accuracy %.1f%%\n", acc,
                min_acc);
        code = FS_EXIT_FAILURE;
    } else if (json_integer_value(json_object_get(sum, "scenarios")) == 0) {
        fprintf(stderr, "forestall: %s holds no scenario (*.yaml)\n", o.dir);
        code = FS_EXIT_FAILURE;
    }
    json_decref(report);
    fs_buf_release(&text);
    return code;
}
