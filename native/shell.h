/* The remote shell run outside the confinement: see shell.c. */
#ifndef SERSYNC_SHELL_H
#define SERSYNC_SHELL_H

/* Forks the broker, before the ruleset applies; rsync and its relay inherit the socket to it. */
void start_shell_broker(void);

/* `sersync-confine --relay SHELL ARG...`, as rsync runs it: returns the shell's exit status. */
int relay_shell(int argc, char **argv);

#endif
