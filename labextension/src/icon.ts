/**
 * The extension's icon: a terminal window (differs from JupyterLab's own
 * terminal icon so the two side by side are told apart).
 */
import { LabIcon } from '@jupyterlab/ui-components';

import svgstr from '../style/icons/terminal.svg';

/** Sidebar tab, tab titles and command palette. */
export const terminalIcon = new LabIcon({
  name: 'jupyter-webpty:terminal',
  svgstr
});
