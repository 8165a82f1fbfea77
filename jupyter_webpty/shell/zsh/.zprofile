# jupyter-webpty: the user's .zprofile (login shells), see .zshenv here.
__webpty_zdotdir=$ZDOTDIR
ZDOTDIR=${WEBPTY_USER_ZDOTDIR-$HOME}
if [[ -r $ZDOTDIR/.zprofile ]]; then source "$ZDOTDIR/.zprofile"; fi
ZDOTDIR=$__webpty_zdotdir
unset __webpty_zdotdir
