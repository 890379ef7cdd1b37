const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The quoted, schema-qualified name of each of a service's tables, built from its one schema
 * constant, so SQL never spells the schema itself (`FROM ${tables.grants}`). Names are checked
 * here because they are interpolated into SQL text, never passed as parameters.
 */
export function schemaTables<const N extends string>(
  schema: string,
  names: readonly N[],
): Readonly<Record<N, string>> {
  for (const name of [schema, ...names]) {
    if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  }
  return Object.freeze(
    Object.fromEntries(names.map((name) => [name, `"${schema}"."${name}"`])) as Record<N, string>,
  );
}
