// Lesson problems arrive as one line each, `path/to/mission.md:12: what is wrong`. The map
// lists them under the missions with the place in a monospace face and the message beside it.

export interface LessonProblem {
  /** `folder/mission.md:12`: the last two path segments and the line, or null if none. */
  location: string | null;
  /** The full path and line, for the tooltip. */
  fullLocation: string | null;
  message: string;
}

// A path (a Windows drive letter allowed) then `:line:`.
const WITH_LINE = /^(?<file>(?:[A-Za-z]:)?[^\s:][^:]*?):(?<line>\d+):\s*(?<message>[\s\S]*)$/;
// A path ending in a file name with an extension, then `:`.
const WITH_FILE = /^(?<file>(?:[A-Za-z]:)?[^\s:][^:]*?\.[A-Za-z0-9]+):\s*(?<message>[\s\S]*)$/;

const shortPath = (file: string): string => file.split(/[\\/]/).filter(Boolean).slice(-2).join('/');

export function parseProblem(problem: string): LessonProblem {
  const text = problem.trim();
  const withLine = WITH_LINE.exec(text)?.groups;
  if (withLine?.file && withLine.line && withLine.message !== undefined) {
    return {
      location: `${shortPath(withLine.file)}:${withLine.line}`,
      fullLocation: `${withLine.file}:${withLine.line}`,
      message: withLine.message || 'This lesson could not be read.',
    };
  }
  const withFile = WITH_FILE.exec(text)?.groups;
  if (withFile?.file && withFile.message !== undefined) {
    return {
      location: shortPath(withFile.file),
      fullLocation: withFile.file,
      message: withFile.message || 'This lesson could not be read.',
    };
  }
  return { location: null, fullLocation: null, message: text || 'A lesson could not be read.' };
}
