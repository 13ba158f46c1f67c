/* logs_cli: the "logs" command of sagemagic-aws: a log group's streams, a
 * stream's events (followed as they arrive), or a filtered search; one row
 * of the command table in cli.c. */
#ifndef SM_LOGS_CLI_H
#define SM_LOGS_CLI_H

/* Run "logs GROUP [STREAM] [flags]" (argv[0] is "logs"). Returns the exit
 * status: 0 done (also when --follow ends on Ctrl-C), 1 failed, 2 a usage
 * mistake. */
int sm_logs_cli(int argc, char **argv);

#endif
