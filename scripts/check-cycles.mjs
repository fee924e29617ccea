// Fails when src/ has a runtime import cycle: a ring of modules whose top-level imports need each
// other at load time (one of them then sees the others half-initialized). Type-only imports are
// erased by tsc and lazy require() calls inside functions run after loading, so neither counts.
// Usage: node scripts/check-cycles.mjs [dir]   (default src)
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(process.argv[2] ?? 'src');

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolve(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/** An import that survives compilation: not `import type`, and not made only of `type` names. */
function isRuntimeImport(node) {
  const clause = node.importClause;
  if (!clause) return true; // import './side-effect'
  if (clause.isTypeOnly) return false;
  if (clause.name) return true;
  const bindings = clause.namedBindings;
  if (!bindings) return false;
  if (ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.length === 0 || bindings.elements.some((e) => !e.isTypeOnly);
}

function edges(file) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out = [];
  for (const stmt of sf.statements) {
    let spec;
    if (ts.isImportDeclaration(stmt) && isRuntimeImport(stmt)) spec = stmt.moduleSpecifier.text;
    else if (ts.isExportDeclaration(stmt) && !stmt.isTypeOnly && stmt.moduleSpecifier) spec = stmt.moduleSpecifier.text;
    else if (ts.isImportEqualsDeclaration(stmt) && !stmt.isTypeOnly && ts.isExternalModuleReference(stmt.moduleReference))
      spec = stmt.moduleReference.expression.text;
    const target = spec && resolve(file, spec);
    if (target) out.push(target);
  }
  return out;
}

// Tarjan's strongly connected components: every component of more than one module is a cycle.
const graph = new Map(sources(root).map((f) => [f, edges(f)]));
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(path.relative(process.cwd(), w));
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  }
}
for (const v of graph.keys()) if (!index.has(v)) visit(v);

if (cycles.length > 0) {
  for (const c of cycles) console.error(`check-cycles: runtime import cycle: ${c.join(' <-> ')}`);
  console.error(
    'check-cycles: move the shared part (often a type or a constant) to the module that owns it, or import it with `import type`',
  );
  process.exit(1);
}
console.log(`check-cycles: ${graph.size} modules, no runtime import cycle`);
