/**
 * A `Command` steers a run: resume an interrupt, patch the state, or jump to nodes. Pass one to
 * `invoke`, or return one from a node to update the state and choose the next nodes at once.
 */

/** Fields of a {@link Command}. */
export interface CommandFields<Update = Record<string, unknown>> {
  /** An answer to the single pending interrupt, or a map of interrupt id -> answer. */
  resume?: unknown;
  /** A state update applied through the reducers. */
  update?: Update;
  /** Node or nodes to run next. */
  goto?: string | readonly string[];
}

/** @example await app.invoke(Command.resume({ approved: true }), { threadId }); */
export class Command<Update = Record<string, unknown>> {
  readonly resume: unknown;
  readonly hasResume: boolean;
  readonly update: Update | undefined;
  readonly goto: readonly string[];

  constructor(fields: CommandFields<Update>) {
    this.hasResume = "resume" in fields;
    this.resume = fields.resume;
    this.update = fields.update;
    this.goto =
      fields.goto === undefined
        ? []
        : typeof fields.goto === "string"
          ? [fields.goto]
          : [...fields.goto];
  }

  /** Resumes with an answer (or a map of interrupt id -> answer). */
  static resume(answer: unknown): Command {
    return new Command({ resume: answer });
  }
}

export function isCommand(value: unknown): value is Command<any> {
  return value instanceof Command;
}
