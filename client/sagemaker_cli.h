/* sagemaker_cli: the "sagemaker" command of sagemagic-aws (train, tune,
 * model, deploy, update, transform, describe, list, stop, delete, wait,
 * invoke), one row of the command table in cli.c. */
#ifndef SM_SAGEMAKER_CLI_H
#define SM_SAGEMAKER_CLI_H

/* Run "sagemaker SUBCOMMAND ..." (argv[0] is "sagemaker"). Returns the
 * exit status: 0 done, 1 failed, 2 a usage mistake, 130 interrupted. */
int sm_sagemaker_cli(int argc, char **argv);

#endif
