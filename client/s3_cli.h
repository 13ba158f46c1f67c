/* s3_cli: the "s3" command of sagemagic-aws (cp, ls, rm, mb), one row of the
 * command table in cli.c. */
#ifndef SM_S3_CLI_H
#define SM_S3_CLI_H

/* Run "s3 SUBCOMMAND ..." (argv[0] is "s3"). Returns the exit status:
 * 0 done, 1 failed, 2 a usage mistake, 130 interrupted. */
int sm_s3_cli(int argc, char **argv);

#endif
