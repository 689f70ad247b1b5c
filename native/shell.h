/* The remote shell run outside the confinement: see shell.c. */
#ifndef SERSYNC_SHELL_H
#define SERSYNC_SHELL_H

/*
 * Forks, before the ruleset applies: the child returns to become rsync (confined), with the socket
 * its relay reaches the parent by; the parent stays as rsync's supervisor, never returning.
 */
void supervise_rsync(void);

/* `sersync-confine --relay SHELL ARG...`, as rsync runs it: returns the shell's exit status. */
int relay_shell(int argc, char **argv);

#endif
