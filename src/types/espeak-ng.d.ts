/** Minimal types for the Emscripten build of espeak-ng (GPL-3.0-or-later), as used by the offline engine. */
declare module 'espeak-ng' {
  export interface ESpeakNgFS {
    readFile(path: string): Uint8Array;
    writeFile(path: string, data: string | Uint8Array): void;
    unlink(path: string): void;
  }
  export interface ESpeakNgModule {
    FS: ESpeakNgFS;
    /** espeak-ng's command-line `main(argc, argv)`; argv points into the module's memory. */
    _main(argc: number, argv: number): number;
  }
  export interface ESpeakNgOptions {
    /** Command-line arguments; main() runs once as the module starts. */
    arguments?: string[];
    /** Do not run main() at start-up (the caller runs it through `_main`). */
    noInitialRun?: boolean;
    /** Run before main(), e.g. to write the input text into the virtual FS. */
    preRun?: ((module: ESpeakNgModule) => void)[];
    print?: (line: string) => void;
    printErr?: (line: string) => void;
    /** Lets the caller instantiate an already-compiled module (saves ~120 ms per call). */
    instantiateWasm?: (
      imports: object,
      receive: (instance: object, module?: object) => void,
    ) => object;
  }
  export default function ESpeakNg(options?: ESpeakNgOptions): Promise<ESpeakNgModule>;
}
