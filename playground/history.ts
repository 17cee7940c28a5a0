import { el } from './dom';

/** One play as the history lists it. */
export interface PlayRecord {
  readonly at: Date;
  readonly script: string;
  readonly ok: boolean;
  readonly taskId?: string;
  /** Output on success, the error line on failure. */
  readonly summary: string;
}

/** The page keeps the newest plays only: a long session must not grow the page forever. */
const MAX_ENTRIES = 100;

/** Adds a play to the top of `list` (one child per play); clicking it loads its script again. */
export function recordPlay(list: HTMLElement, play: PlayRecord, load: (script: string) => void): void {
  const time = el('time', { datetime: play.at.toISOString() }, play.at.toLocaleTimeString());
  const item = el(
    'li',
    { class: play.ok ? 'ok' : 'failed', title: 'click to load this script into the editor' },
    time,
    el('span', { class: 'status' }, play.ok ? 'ok' : 'error'),
    el('code', { class: 'task-id' }, play.taskId ?? 'no task'),
    el('span', { class: 'summary' }, play.summary),
  );
  if (play.taskId) item.dataset.taskId = play.taskId;
  item.addEventListener('click', () => load(play.script));
  list.prepend(item);
  while (list.children.length > MAX_ENTRIES) list.lastElementChild?.remove();
}
