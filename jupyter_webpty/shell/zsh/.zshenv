# jupyter-webpty shell integration for zsh: ZDOTDIR points here, so zsh reads these files in place
# of the user's; each runs the user's own file of the same name (from the user's ZDOTDIR, or HOME)
# first. .zshrc adds the marks and hands ZDOTDIR back, so .zlogin and nested shells are the user's.
__webpty_zdotdir=$ZDOTDIR
if [[ -n ${WEBPTY_USER_ZDOTDIR+x} ]]; then ZDOTDIR=$WEBPTY_USER_ZDOTDIR; else ZDOTDIR=$HOME; fi
if [[ -r $ZDOTDIR/.zshenv ]]; then source "$ZDOTDIR/.zshenv"; fi
# The user's .zshenv may choose a ZDOTDIR for the files that follow (a common idiom).
if [[ $ZDOTDIR != $HOME || -n ${WEBPTY_USER_ZDOTDIR+x} ]]; then export WEBPTY_USER_ZDOTDIR=$ZDOTDIR; fi
ZDOTDIR=$__webpty_zdotdir
unset __webpty_zdotdir
