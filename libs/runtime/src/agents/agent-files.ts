import { existsSync, readFileSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { RoutingPolicy } from '@keelson/cost';
import { parse as parseYaml } from 'yaml';
import { AgentDefinitionError, parseAgentDefinition, type AgentDefinition } from './agent-definition';
import { AgentRegistry, unknownPolicyError } from './agent-registry';
import { ROUTING_DIR, builtinRoutingPolicies, parseRoutingPolicy } from './routing-policies';

/** The file kinds read as agent definitions; anything else in the directory (README, .swp) is ignored. */
export const AGENT_FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** One agent file, parsed and validated. `source` is how messages name it: `agents/assistant.yaml`. */
export interface AgentFile {
  file: string;
  source: string;
  definition: AgentDefinition;
}

/** A file that was refused, with the field at fault (`id` for a duplicate, `(file)` when it is not YAML/JSON). */
export interface AgentFileProblem {
  file: string;
  source: string;
  field: string;
  message: string;
}

/** One routing policy file (`routing/<name>.json`), parsed and validated. */
export interface PolicyFile {
  file: string;
  source: string;
  policy: RoutingPolicy;
}

export interface AgentFileSet {
  /** The default version of each agent id. */
  agents: AgentFile[];
  /** Further versions, from versioned files (`support@2.yaml`), served when a rollout picks them. */
  versions: AgentFile[];
  /** Also the problems of routing policy files (their `file` starts with `routing/`). */
  problems: AgentFileProblem[];
  policies: PolicyFile[];
}

/** The part of a logger this needs; @keelson/observability's Logger fits. */
export interface AgentFileLogger {
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

const ignore = (): void => undefined;
const silent: AgentFileLogger = { info: ignore, warn: ignore, error: ignore };

const isAgentFile = (name: string) =>
  !name.startsWith('.') && (AGENT_FILE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());

/** Agent file names in `dir`, sorted, so "the later file" of two with one id is the same on every replica. */
export function listAgentFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && isAgentFile(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** Routing policy file names (`routing/<name>.json|yaml|yml`) in an agent directory, sorted; none without the folder. */
export function listPolicyFiles(dir: string): string[] {
  const folder = join(dir, ROUTING_DIR);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
  return listAgentFiles(folder).map((name) => join(ROUTING_DIR, name));
}

function readStructured(dir: string, file: string, source: string): unknown {
  const text = readFileSync(join(dir, file), 'utf8');
  try {
    return extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new AgentDefinitionError(source, '(file)', `${source}: (file): not valid ${extname(file).slice(1).toUpperCase()}: ${reason}`);
  }
}

/** A versioned agent file's name: `<id>@<version>.<ext>` holds that version of that agent, beside `<id>.<ext>`. */
const VERSIONED_FILE = /^([^@]+)@(.+)\.(?:json|ya?ml)$/i;

/** The id and version a versioned file's name promises, or undefined for a plain file. */
export function versionedFileName(file: string): { id: string; version: string } | undefined {
  const match = VERSIONED_FILE.exec(file);
  return match ? { id: match[1]!, version: match[2]! } : undefined;
}

/** Reads and validates one file; throws AgentDefinitionError naming the file and the field. */
export function readAgentFile(dir: string, file: string): AgentFile {
  const source = join(basename(dir), file);
  const definition = parseAgentDefinition(readStructured(dir, file, source), source);
  const named = versionedFileName(file);
  if (named && named.id !== definition.id) {
    throw new AgentDefinitionError(source, 'id', `${source}: id: the file's name promises agent "${named.id}", the file defines "${definition.id}"`);
  }
  if (named && named.version !== definition.version) {
    throw new AgentDefinitionError(source, 'version', `${source}: version: the file's name promises version "${named.version}", the file has "${definition.version}"`);
  }
  return { file, source, definition };
}

/** Reads and validates one routing policy file (`routing/<name>.json`); its `name` must be the file's name. */
export function readPolicyFile(dir: string, file: string): PolicyFile {
  const source = join(basename(dir), file);
  const policy = parseRoutingPolicy(readStructured(dir, file, source), source, basename(file, extname(file)));
  return { file, source, policy };
}

/** Built-in policies, replaced by files of the same name. */
function policyMap(files: readonly PolicyFile[]): Map<string, RoutingPolicy> {
  const policies = builtinRoutingPolicies();
  for (const { policy } of files) policies.set(policy.name, policy);
  return policies;
}

/** Splits agents into those whose routing policy exists and refusals (field `model.routing`) for the others. */
function checkPolicyRefs(candidates: AgentFile[], policies: ReadonlyMap<string, RoutingPolicy>): { ok: AgentFile[]; problems: AgentFileProblem[] } {
  const ok: AgentFile[] = [];
  const problems: AgentFileProblem[] = [];
  for (const candidate of candidates) {
    const err = unknownPolicyError(candidate.definition, policies, candidate.source);
    if (err) problems.push({ file: candidate.file, source: candidate.source, field: err.field, message: err.message });
    else ok.push(candidate);
  }
  return { ok, problems };
}

const problemOf = (file: string, source: string, err: unknown): AgentFileProblem =>
  err instanceof AgentDefinitionError
    ? { file, source, field: err.field, message: err.message }
    : { file, source, field: '(file)', message: `${source}: (file): ${err instanceof Error ? err.message : String(err)}` };

/**
 * Keeps one file per agent id. The file that already serves an id (`owners`) keeps it; otherwise the first
 * by name wins. Every other file with that id is refused, naming both files.
 */
function resolveDuplicates(all: AgentFile[], owners: ReadonlyMap<string, string> = new Map()): Omit<AgentFileSet, 'policies'> {
  const candidates = all.filter((f) => !versionedFileName(f.file));
  const byId = new Map<string, AgentFile[]>();
  for (const candidate of candidates) {
    const list = byId.get(candidate.definition.id) ?? [];
    list.push(candidate);
    byId.set(candidate.definition.id, list);
  }
  const agents: AgentFile[] = [];
  const problems: AgentFileProblem[] = [];
  for (const [id, files] of byId) {
    const winner = files.find((f) => f.file === owners.get(id)) ?? files[0]!;
    agents.push(winner);
    for (const loser of files) {
      if (loser === winner) continue;
      problems.push({
        file: loser.file,
        source: loser.source,
        field: 'id',
        message: `${loser.source}: id: agent "${id}" is already defined in ${winner.source}; this file is refused`,
      });
    }
  }
  // Versioned files (`support@2.yaml`): each id and version once; the first of an id with no plain file is its default.
  const taken = new Map<string, AgentFile>(agents.map((f) => [`${f.definition.id}@${f.definition.version}`, f]));
  const versions: AgentFile[] = [];
  for (const file of all.filter((f) => versionedFileName(f.file)).sort((a, b) => a.file.localeCompare(b.file))) {
    const key = `${file.definition.id}@${file.definition.version}`;
    const holder = taken.get(key);
    if (holder) {
      problems.push({
        file: file.file,
        source: file.source,
        field: 'version',
        message: `${file.source}: version: agent "${file.definition.id}" version "${file.definition.version}" is already defined in ${holder.source}; this file is refused`,
      });
      continue;
    }
    taken.set(key, file);
    if (agents.some((a) => a.definition.id === file.definition.id)) versions.push(file);
    else agents.push(file);
  }
  agents.sort((a, b) => a.file.localeCompare(b.file));
  return { agents, versions, problems };
}

/**
 * Every agent file in `dir`, validated. Invalid files and duplicate ids come back as problems rather than
 * throwing, so one bad file does not hide the others. Throws only when the directory cannot be read.
 */
export function loadAgentFiles(dir: string): AgentFileSet {
  const candidates: AgentFile[] = [];
  const problems: AgentFileProblem[] = [];
  const policies: PolicyFile[] = [];
  for (const file of listPolicyFiles(dir)) {
    try {
      policies.push(readPolicyFile(dir, file));
    } catch (err) {
      problems.push(problemOf(file, join(basename(dir), file), err));
    }
  }
  for (const file of listAgentFiles(dir)) {
    try {
      candidates.push(readAgentFile(dir, file));
    } catch (err) {
      problems.push(problemOf(file, join(basename(dir), file), err));
    }
  }
  const refs = checkPolicyRefs(candidates, policyMap(policies));
  const resolved = resolveDuplicates(refs.ok);
  return { agents: resolved.agents, versions: resolved.versions, problems: [...problems, ...refs.problems, ...resolved.problems], policies };
}

export interface AgentFileRegistryOptions {
  logger?: AgentFileLogger;
  /** Watch the directory and reload on change; default true. `reload()` works either way. */
  watch?: boolean;
  /** Quiet time after the last change before reloading (editors write a file in several steps); default 150 ms. */
  debounceMs?: number;
}

/**
 * The agents defined by the files of one directory, with AgentRegistry's `get/has/list`, reloaded when the
 * directory changes. A file that becomes invalid is refused (logged with the field) and its last good
 * definition keeps serving; a deleted file takes its agent away; a new version is logged.
 * Routing policies come from `routing/<name>.json|yaml` the same way (an invalid file is refused and its
 * last good policy keeps serving), over the built-in `balanced`; an agent naming a policy that does not
 * exist is refused (`model.routing`), even its last good definition.
 */
export class AgentFileRegistry extends AgentRegistry {
  private readonly logger: AgentFileLogger;
  /** The last definition of each file that was valid, kept while the file is invalid. */
  private lastGood = new Map<string, AgentFile>();
  private lastGoodPolicies = new Map<string, PolicyFile>();
  private policyWatcher: FSWatcher | undefined;
  /** Which file serves each agent id. */
  private owners = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastProblems: AgentFileProblem[] = [];

  /** Loads the directory once; throws if it cannot be read (a misconfigured AGENTS_DIR stops the start). */
  constructor(
    readonly dir: string,
    private readonly options: AgentFileRegistryOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silent;
    listAgentFiles(dir);
    this.reload();
    if (options.watch ?? true) this.startWatching();
  }

  /** Agents come only from files here. */
  override register(): AgentDefinition {
    throw new Error(`agents are defined by the files in ${this.dir}; add a file there instead`);
  }

  override addVersion(): AgentDefinition {
    throw new Error(`agent versions are defined by the files in ${this.dir}; add a file <id>@<version>.yaml there instead`);
  }

  /** Files refused by the last reload. */
  problems(): AgentFileProblem[] {
    return [...this.lastProblems];
  }

  /** Re-reads the directory now and swaps in the result; returns what was refused. */
  reload(): AgentFileProblem[] {
    let names: string[];
    try {
      names = listAgentFiles(this.dir);
    } catch (err) {
      this.logger.error('agent directory unreadable; keeping the agents already loaded', { dir: this.dir, error: String(err) });
      return this.lastProblems;
    }
    const problems: AgentFileProblem[] = this.reloadPolicies();
    const candidates: AgentFile[] = [];
    const lastGood = new Map<string, AgentFile>();
    for (const file of names) {
      try {
        const loaded = readAgentFile(this.dir, file);
        candidates.push(loaded);
        lastGood.set(file, loaded);
      } catch (err) {
        const problem = problemOf(file, join(basename(this.dir), file), err);
        problems.push(problem);
        const previous = this.lastGood.get(file);
        if (previous) {
          candidates.push(previous);
          lastGood.set(file, previous);
        }
        this.logger.warn('agent file refused', {
          file: problem.source,
          field: problem.field,
          error: problem.message,
          ...(previous ? { serving: `${previous.definition.id}@${previous.definition.version} (last good)` } : {}),
        });
      }
    }
    const refs = checkPolicyRefs(candidates, this.policies);
    const resolved = resolveDuplicates(refs.ok, this.owners);
    for (const problem of [...refs.problems, ...resolved.problems]) {
      this.logger.warn('agent file refused', { file: problem.source, field: problem.field, error: problem.message });
    }
    this.swapIn(resolved.agents, resolved.versions);
    this.lastGood = lastGood;
    this.lastProblems = [...problems, ...refs.problems, ...resolved.problems];
    return this.problems();
  }

  /** Re-reads `routing/`: valid files replace the built-ins of their name, a refused one keeps its last good policy. */
  private reloadPolicies(): AgentFileProblem[] {
    const problems: AgentFileProblem[] = [];
    const serving: PolicyFile[] = [];
    const lastGood = new Map<string, PolicyFile>();
    for (const file of listPolicyFiles(this.dir)) {
      try {
        const loaded = readPolicyFile(this.dir, file);
        serving.push(loaded);
        lastGood.set(file, loaded);
      } catch (err) {
        const problem = problemOf(file, join(basename(this.dir), file), err);
        problems.push(problem);
        const previous = this.lastGoodPolicies.get(file);
        if (previous) {
          serving.push(previous);
          lastGood.set(file, previous);
        }
        this.logger.warn('routing policy file refused', {
          file: problem.source,
          field: problem.field,
          error: problem.message,
          ...(previous ? { serving: `${previous.policy.name}@${previous.policy.version ?? '?'} (last good)` } : {}),
        });
      }
    }
    const next = policyMap(serving);
    for (const [name, policy] of next) {
      const before = this.policies.get(name);
      if (!before || before.version !== policy.version) this.logger.info('routing policy loaded', { policy: name, version: policy.version ?? 'builtin' });
    }
    this.policies = next;
    this.lastGoodPolicies = lastGood;
    return problems;
  }

  /** Stops watching; safe to call twice. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.policyWatcher?.close();
    this.policyWatcher = undefined;
  }

  private swapIn(files: AgentFile[], extras: AgentFile[]): void {
    const previous = this.agents;
    const previousVersions = this.versionsById;
    const next = new Map<string, AgentDefinition>();
    const versions = new Map<string, Map<string, AgentDefinition>>();
    const owners = new Map<string, string>();
    for (const { file, source, definition } of files) {
      next.set(definition.id, definition);
      versions.set(definition.id, new Map([[definition.version, definition]]));
      owners.set(definition.id, file);
      const before = previous.get(definition.id);
      if (!before) this.logger.info('agent loaded', { agent: definition.id, version: definition.version, file: source });
      else if (before.version !== definition.version) {
        this.logger.info('agent version changed', { agent: definition.id, from: before.version, to: definition.version, file: source });
      }
    }
    for (const id of previous.keys()) {
      if (!next.has(id)) this.logger.info('agent removed', { agent: id, file: join(basename(this.dir), this.owners.get(id) ?? '?') });
    }
    for (const { source, definition } of extras) {
      versions.get(definition.id)?.set(definition.version, definition);
      if (!previousVersions.get(definition.id)?.has(definition.version)) {
        this.logger.info('agent version loaded', { agent: definition.id, version: definition.version, file: source });
      }
    }
    this.agents = next;
    this.versionsById = versions;
    this.owners = owners;
  }

  private startWatching(): void {
    const debounceMs = this.options.debounceMs ?? 150;
    const changed = () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.reload();
      }, debounceMs);
      this.timer.unref();
    };
    this.watcher = watch(this.dir, { persistent: false }, changed);
    this.watcher.on('error', (err) => {
      this.logger.error('agent directory watch failed; call reload() or restart to pick up changes', { dir: this.dir, error: String(err) });
    });
    // fs.watch is not recursive on Linux: the policies' folder has its own watcher (when it exists at start).
    const policies = join(this.dir, ROUTING_DIR);
    if (existsSync(policies)) {
      this.policyWatcher = watch(policies, { persistent: false }, changed);
      this.policyWatcher.on('error', (err) => {
        this.logger.error('routing policy watch failed; call reload() or restart to pick up changes', { dir: policies, error: String(err) });
      });
    }
  }
}

/** The agents a service runs: the files of `dir` when one is configured, else the built-in agents. */
export function agentRegistryFor(
  dir: string | undefined,
  fallback: () => Iterable<unknown>,
  options: AgentFileRegistryOptions = {},
): AgentRegistry {
  return dir ? new AgentFileRegistry(dir, options) : new AgentRegistry(fallback());
}
