// Minimal typings for libmime (mailparser's MIME helper library), for the functions relaytrap uses.
declare module "libmime" {
  export function decodeWords(s: string): string;
  export function encodeWord(s: string, mimeWordEncoding?: "Q" | "B", maxLength?: number): string;
  const libmime: { decodeWords: typeof decodeWords; encodeWord: typeof encodeWord };
  export default libmime;
}
