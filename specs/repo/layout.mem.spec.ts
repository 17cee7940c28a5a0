/**
 * The repository's map stays true to its tree: the `## Layout` table of README.md and each
 * room's README.md. Adding, moving or deleting a folder or a file without updating the map
 * fails here, naming the file and what is missing.
 *
 * The rules, and their exemptions:
 * - A "room" is every top-level directory but hidden ones, `node_modules`, `dist`,
 *   `coverage` and directories `.gitignore` names (`circles-data/`: `npm start` makes it).
 * - The layout table has one row per room (first cell `` `room/` ``) and a `(top level)`
 *   row; every folder row names an existing directory.
 * - A path in backticks in the table that starts with a room (`transport/routes.ts`,
 *   `rhai/compile/`) exists. A bare file name (`routes.ts`, `embedded-*.ts`) exists in its
 *   row's room or, being shared by every room, at the root (`openrpc.json`). Every `.ts` file
 *   at the root is named in the `(top level)` row.
 * - Every room, docs/ and specs/ included, has a README.md whose first paragraph after the
 *   headings is prose (not a list, table or code), meant to say what the room is for.
 * - A README's file list is its table rows and list items: the first backticked name of each
 *   such line that looks like a file or folder is one of the room's own, and must exist in
 *   the room (a bare name may live in a sub-folder: rhai's compile/ table lists bare names;
 *   a path with a slash is taken from the room, else from the repository root).
 * - Any path in backticks in a README that starts with a room (`specs/queue/`, from the root)
 *   or with a sub-folder of that README's room (`compile/program.ts`, from the room) exists;
 *   other paths (`../shared/SPEC.md`, `dist/playground/`, Rhai's `src/eval/`) are not checked.
 * - Every `.ts` file directly in a room is named in backticks somewhere in its README, and
 *   so is every sub-folder (`compile/`): files inside sub-folders are listed by their
 *   sub-folder, not one by one. `*.d.ts` and `*.spec.ts` are exempt (a spec's name says what
 *   it checks and jest finds it by pattern); so are files that are not TypeScript.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

/** Directories that are not part of the source tree whatever .gitignore says. */
const NOT_ROOMS = new Set(['node_modules', 'dist', 'coverage']);
const TOP_LEVEL_ROW = '(top level)';
const FILE_EXTENSIONS = ['ts', 'js', 'mjs', 'cjs', 'json', 'md', 'css', 'html', 'png', 'lua', 'rhai', 'sh'];
const FILE_NAME = new RegExp(`^[\\w.*-]+\\.(?:${FILE_EXTENSIONS.join('|')})$`);
/** A relative path of plain segments; a trailing slash marks a folder. */
const PATH = /^[\w.*-]+(?:\/[\w.*-]+)*\/?$/;

const backticked = (text: string): string[] => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const isFolderToken = (t: string): boolean => t.endsWith('/') && PATH.test(t) && !t.startsWith('.');
const isFileToken = (t: string): boolean =>
  PATH.test(t) && !t.startsWith('.') && FILE_NAME.test(t.split('/').pop()!);
const isCodeFile = (name: string): boolean =>
  name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.spec.ts');

/** Top-level directory names `.gitignore` lists (`name/` or `/name`, no globs). */
function gitignoredDirs(root: string): Set<string> {
  const file = path.join(root, '.gitignore');
  if (!fs.existsSync(file)) return new Set();
  const names = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^\/?([\w.-]+)\/?\s*$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
  return new Set(names);
}

function rooms(root: string): string[] {
  const ignored = gitignoredDirs(root);
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter(
      (e) => e.isDirectory() && !e.name.startsWith('.') && !NOT_ROOMS.has(e.name) && !ignored.has(e.name),
    )
    .map((e) => e.name)
    .sort();
}

/** A directory's entries, hidden ones left out, in name order (so reports are stable). */
function entries(dir: string): fs.Dirent[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether `name` (a file name, `*` allowed) is in `dir` or, if `nested`, any folder below it. */
function hasFile(dir: string, name: string, nested: boolean): boolean {
  if (!fs.existsSync(dir)) return false;
  const pattern = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  for (const e of entries(dir)) {
    if (e.isFile() && pattern.test(e.name)) return true;
    if (nested && e.isDirectory() && e.name !== 'node_modules' && hasFile(path.join(dir, e.name), name, true))
      return true;
  }
  return false;
}

/** Whether `token` (a relative path; trailing slash: a folder) exists under `base`. */
function pathExists(base: string, token: string): boolean {
  const target = path.join(base, token);
  if (!fs.existsSync(target)) {
    if (!token.includes('*')) return false;
    const folder = path.dirname(token);
    return hasFile(path.join(base, folder), path.basename(token), false);
  }
  return token.endsWith('/') ? fs.statSync(target).isDirectory() : fs.statSync(target).isFile();
}

interface LayoutRow {
  /** `actors` for `` `actors/` ``, or `(top level)`. */
  readonly label: string;
  readonly folder: boolean;
  /** The row without its first cell. */
  readonly rest: string;
}

/** The rows of the `## Layout` table, header and separator left out; null when there is none. */
function layoutRows(readme: string): { rows: LayoutRow[]; problems: string[] } | null {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^## Layout\s*$/.test(l));
  if (start < 0) return null;
  const rows: LayoutRow[] = [];
  const problems: string[] = [];
  let header = true;
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('## '); i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('|')) continue;
    if (header || /^\|[\s|:-]+\|$/.test(line)) {
      header = false;
      continue;
    }
    const [, first = '', ...rest] = line.split(/(?<!\\)\|/);
    const cell = first.trim();
    const folder = /^`([\w.-]+)\/`$/.exec(cell)?.[1];
    if (folder !== undefined) rows.push({ label: folder, folder: true, rest: rest.join('|') });
    else if (cell === TOP_LEVEL_ROW) rows.push({ label: cell, folder: false, rest: rest.join('|') });
    else
      problems.push(`README.md ## Layout: row "${cell}" should start with \`folder/\` or ${TOP_LEVEL_ROW}`);
  }
  return { rows, problems };
}

/** What the `## Layout` table of `root`/README.md misses or names wrongly. */
function layoutProblems(root: string): string[] {
  const readmeFile = path.join(root, 'README.md');
  if (!fs.existsSync(readmeFile)) return ['README.md is missing'];
  const table = layoutRows(fs.readFileSync(readmeFile, 'utf8'));
  if (table === null || table.rows.length === 0) return ['README.md has no ## Layout table'];
  const problems = [...table.problems];
  const tree = rooms(root);
  const roomRows = new Set(table.rows.filter((r) => r.folder).map((r) => r.label));
  for (const room of tree)
    if (!roomRows.has(room)) problems.push(`README.md ## Layout has no row for \`${room}/\``);
  for (const room of roomRows)
    if (!fs.existsSync(path.join(root, room)) || !fs.statSync(path.join(root, room)).isDirectory())
      problems.push(`README.md ## Layout has a row for \`${room}/\`, which is not a directory`);

  const topRow = table.rows.find((r) => !r.folder);
  if (!topRow) problems.push(`README.md ## Layout has no ${TOP_LEVEL_ROW} row`);
  const topNames = new Set(topRow ? backticked(topRow.rest) : []);
  for (const e of entries(root))
    if (e.isFile() && isCodeFile(e.name) && !topNames.has(e.name))
      problems.push(`README.md ## Layout: the ${TOP_LEVEL_ROW} row does not name \`${e.name}\``);

  const known = new Set([...tree, ...roomRows]);
  for (const row of table.rows) {
    const where = row.folder ? `\`${row.label}/\`` : TOP_LEVEL_ROW;
    for (const token of backticked(row.rest)) {
      const firstSegment = token.split('/')[0]!;
      if (token.includes('/') && known.has(firstSegment) && (isFileToken(token) || isFolderToken(token))) {
        if (!pathExists(root, token))
          problems.push(`README.md ## Layout, row ${where}: \`${token}\` does not exist`);
      } else if (!token.includes('/') && isFileToken(token)) {
        const found =
          (row.folder && hasFile(path.join(root, row.label), token, true)) || hasFile(root, token, false);
        if (!found)
          problems.push(
            `README.md ## Layout, row ${where}: \`${token}\` is not in ${row.folder ? `${row.label}/` : 'the root'}`,
          );
      }
    }
  }
  return problems;
}

/** The first paragraph after the headings, or '' when the README has none. */
function firstParagraph(readme: string): string {
  const blocks = readme.split(/\n\s*\n/).map((b) => b.trim());
  for (const block of blocks) {
    const body = block
      .split('\n')
      .filter((l) => !/^#{1,6}\s/.test(l))
      .join('\n')
      .trim();
    if (body) return body;
  }
  return '';
}

/** The first backticked name of each table row and list item: the README's own files. */
function listedFiles(readme: string): string[] {
  const listed: string[] = [];
  for (const line of readme.split('\n')) {
    if (!/^\s*(?:\||[-*]\s|\d+\.\s)/.test(line)) continue;
    const first = backticked(line)[0];
    if (first !== undefined && (isFileToken(first) || isFolderToken(first))) listed.push(first);
  }
  return listed;
}

/** What `root`/`room`/README.md misses or names wrongly. */
function roomProblems(root: string, room: string): string[] {
  const dir = path.join(root, room);
  const readmeName = `${room}/README.md`;
  const readmeFile = path.join(dir, 'README.md');
  if (!fs.existsSync(readmeFile)) return [`${readmeName} is missing`];
  const readme = fs.readFileSync(readmeFile, 'utf8');
  const problems: string[] = [];

  const opening = firstParagraph(readme);
  if (!opening) problems.push(`${readmeName} has no paragraph saying what the room is for`);
  else if (/^(?:\||[-*]\s|\d+\.\s|```)/.test(opening))
    problems.push(
      `${readmeName} should open with a paragraph saying what the room is for, not a list, table or code`,
    );

  for (const token of listedFiles(readme)) {
    const found = token.includes('/')
      ? pathExists(dir, token) || pathExists(root, token)
      : hasFile(dir, token, true);
    if (!found) problems.push(`${readmeName} lists \`${token}\`, which is not in ${room}/`);
  }

  const tree = new Set(rooms(root));
  const subFolders = new Set(
    entries(dir)
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
  );
  for (const token of new Set(backticked(readme))) {
    if (!token.includes('/') || !(isFileToken(token) || isFolderToken(token))) continue;
    const first = token.split('/')[0]!;
    if (subFolders.has(first) && !pathExists(dir, token))
      problems.push(`${readmeName} names \`${token}\`, which is not in ${room}/`);
    else if (!subFolders.has(first) && tree.has(first) && !pathExists(root, token))
      problems.push(`${readmeName} names \`${token}\`, which does not exist`);
  }

  const named = new Set(backticked(readme));
  const isNamed = (name: string): boolean => named.has(name) || named.has(`${room}/${name}`);
  for (const e of entries(dir)) {
    if (e.isFile() && isCodeFile(e.name) && !isNamed(e.name))
      problems.push(`${readmeName} does not name \`${e.name}\``);
    if (e.isDirectory() && e.name !== 'node_modules') {
      const sub = `${e.name}/`;
      const listed = [...named].some(
        (t) => t === e.name || t.startsWith(sub) || t.startsWith(`${room}/${sub}`),
      );
      if (!listed) problems.push(`${readmeName} does not name its sub-folder \`${sub}\``);
    }
  }
  return problems;
}

describe('the repository map', () => {
  it('README.md ## Layout has a row for every folder and names only what exists', () => {
    expect(layoutProblems(REPO)).toEqual([]);
  });

  it.each(rooms(REPO))('%s/README.md says what the room is for and lists its files', (room) => {
    expect(roomProblems(REPO, room)).toEqual([]);
  });
});

describe('the map checks themselves', () => {
  let root: string;
  const write = (file: string, text = ''): void => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-spec-'));
    write('.gitignore', 'node_modules/\nscratch/\n');
    write('index.ts');
    write('scratch/x.ts');
    write('alpha/one.ts');
    write('alpha/sub/deep.ts');
    write(
      'README.md',
      [
        '# x',
        '## Layout',
        '',
        '| folder | concern |',
        '|---|---|',
        '| `alpha/` | the first room: `one.ts`, `alpha/sub/` |',
        '| `gone/` | a room deleted since |',
        '| (top level) | `index.ts` |',
        '',
        '## Next',
      ].join('\n'),
    );
    write('alpha/README.md', '# alpha/\n\nWhat alpha is for.\n\n- `one.ts`: the one file\n- `sub/`: more\n');
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('pass on a tree that matches its map', () => {
    fs.rmSync(path.join(root, 'README.md'));
    write(
      'README.md',
      '## Layout\n\n| f | c |\n|---|---|\n| `alpha/` | `one.ts` |\n| (top level) | `index.ts` |\n',
    );
    expect(layoutProblems(root)).toEqual([]);
    expect(roomProblems(root, 'alpha')).toEqual([]);
  });

  it('report a folder without a row, a row without a folder and files named but gone', () => {
    write('beta/two.ts');
    write('extra.ts');
    write(
      'README.md',
      fs.readFileSync(path.join(root, 'README.md'), 'utf8').replace('`one.ts`', '`one.ts`, `old.ts`'),
    );
    expect(layoutProblems(root)).toEqual([
      'README.md ## Layout has no row for `beta/`',
      'README.md ## Layout has a row for `gone/`, which is not a directory',
      'README.md ## Layout: the (top level) row does not name `extra.ts`',
      'README.md ## Layout, row `alpha/`: `old.ts` is not in alpha/',
    ]);
  });

  it('report a README that misses a file or a sub-folder, lists a gone one, or opens with a list', () => {
    write('alpha/two.ts');
    write('alpha/more/x.ts');
    write('beta/two.ts');
    write(
      'alpha/README.md',
      '# alpha/\n\n- `one.ts`: the one file\n- `gone.ts`: deleted\n- `sub/`: more, such as `sub/deep.ts`\n' +
        '\nSee `sub/old.ts`, `beta/two.ts`, `beta/three.ts` and `../elsewhere/x.ts`.\n',
    );
    expect(roomProblems(root, 'alpha')).toEqual([
      'alpha/README.md should open with a paragraph saying what the room is for, not a list, table or code',
      'alpha/README.md lists `gone.ts`, which is not in alpha/',
      'alpha/README.md names `sub/old.ts`, which is not in alpha/',
      'alpha/README.md names `beta/three.ts`, which does not exist',
      'alpha/README.md does not name its sub-folder `more/`',
      'alpha/README.md does not name `two.ts`',
    ]);
  });

  it('report a room without a README', () => {
    write('beta/two.ts');
    expect(roomProblems(root, 'beta')).toEqual(['beta/README.md is missing']);
  });
});
