/** The colour scheme (charts read CSS variables when they are created, and again when it flips). */
class Theme {
  dark = $state(false);

  constructor() {
    const mq = matchMedia('(prefers-color-scheme: dark)');
    this.dark = mq.matches;
    mq.addEventListener('change', (e) => (this.dark = e.matches));
  }

  color(name: string): string {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
  }
}

export const theme = new Theme();
