import { REFUSAL_PARAMETER_URL, REFUSAL_SYSTEM } from '../../src-server/fhir/refusals';

type Json = Record<string, any>;

/** The first issue's code, expression and parameters, as a client reads them. */
export function coded(body: Json): { code?: string; expression?: string[]; parameters: Record<string, unknown> } {
  const issue = body.issue?.[0] as Json | undefined;
  const parameters: Record<string, unknown> = {};
  for (const extension of (issue?.extension ?? []) as Json[]) {
    if (extension.url !== REFUSAL_PARAMETER_URL) continue;
    const [name, value] = extension.extension as Json[];
    parameters[name.valueCode as string] = value.valueString ?? value.valueInteger ?? value.valueInstant;
  }
  return { code: (issue?.details?.coding as Json[] | undefined)?.find((coding) => coding.system === REFUSAL_SYSTEM)?.code, expression: issue?.expression, parameters };
}
