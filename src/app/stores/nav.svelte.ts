/** The current view, kept in the URL hash so a reload (or a link) opens the same view. */
export const VIEWS = [
  { id: 'model', label: 'Model' },
  { id: 'data', label: 'Data' },
  { id: 'train', label: 'Train' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'export', label: 'Export' },
  { id: 'runs', label: 'Runs' },
  { id: 'classroom', label: 'Classroom' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];

function fromHash(): ViewId {
  const h = location.hash.replace(/^#/, '');
  return (VIEWS.find((v) => v.id === h)?.id ?? 'model') as ViewId;
}

class Nav {
  view = $state<ViewId>(fromHash());

  constructor() {
    addEventListener('hashchange', () => (this.view = fromHash()));
  }

  go(view: ViewId): void {
    this.view = view;
    if (location.hash !== `#${view}`) history.replaceState(null, '', `${location.pathname}${location.search}#${view}`);
  }
}

export const nav = new Nav();
