// The exported draw page's engine (`sketch export --format web`): the run's model.onnx runs here,
// on onnxruntime-web's WebAssembly, with strokes.js turning the strokes into its input as
// strokes.py does. Saved drawings stay in this browser (localStorage) until downloaded as
// Quick, Draw! raw ndjson: the lines `sketch draw --save-to` writes, for `sketch download --own-categories`.
"use strict";

function browserEngine(setup) {
  ort.env.wasm.wasmPaths = new URL(setup.runtime, location.href).href;
  const opened = ort.InferenceSession.create(setup.model, {executionProviders: ["wasm"]});
  const storageKey = `sketchrnn_cli drawings ${location.pathname}`;
  let running = Promise.resolve();  // one run at a time: a session does not take overlapping runs

  async function probabilities(drawing) {
    const {rows, length} = SketchStrokes.parseDrawing(drawing, setup.maxLength);
    const session = await opened;
    const strokesName = session.inputNames.find((name) => name.includes("strokes"));
    const lengthName = session.inputNames.find((name) => name.includes("length"));
    const feeds = {
      [strokesName]: new ort.Tensor("float32", rows, [1, length, 3]),
      [lengthName]: new ort.Tensor("int32", Int32Array.of(length), [1]),
    };
    const output = (await session.run(feeds))[session.outputNames[0]].data;
    let sum = 0;
    for (const p of output) sum += p;
    if (output.length !== setup.labels.length || !(Math.abs(sum - 1) < 1e-3) || output.some((p) => !(p >= 0))) {
      throw new Error(`${setup.model}: its answer is not ${setup.labels.length} probabilities`);
    }
    return output;
  }

  function serially(task) {
    const result = running.then(task);
    running = result.catch(() => {});
    return result;
  }

  // Top-k, most likely first, ties to the lower index (metrics.top_k); unsure as sketch predict.
  async function guess(drawing, k) {
    const values = await serially(() => probabilities(drawing));
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b);
    const predictions = order.slice(0, k).map((i) => ({label: setup.labels[i], probability: values[i]}));
    return {predictions, unsure: predictions[0].probability < setup.unsureBelow};
  }

  function kept() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "[]"); } catch { return []; }
  }

  async function save(drawing, word) {
    const problem = wordProblem(word);
    if (problem) throw new Error(`'word': ${problem}`);
    const {predictions} = await guess(drawing, 1);
    const lines = kept();
    lines.push(rawLine(drawing, word, predictions[0].label === word));
    try {
      localStorage.setItem(storageKey, JSON.stringify(lines));
    } catch (error) {
      throw new Error(`this browser would not keep another drawing (${error.name}): download the ones kept`);
    }
    return `saved as “${word}” in this browser (${lines.length} kept): Download gives them as a file`;
  }

  // own_words.word_problem: what `sketch download --own-categories` would refuse as a category.
  function wordProblem(word) {
    const limits = setup.word;
    if (!word) return "has no 'word' (the category it shows)";
    if (word !== word.trim() || /[\p{C}\p{Z}]/u.test(word.replaceAll(" ", "")) || [...word].length > limits.maxChars) {
      return `word "${word}" is not 1 to ${limits.maxChars} printable characters without spaces around them`;
    }
    if (new TextEncoder().encode(word).length > limits.maxBytes) return `word is over ${limits.maxBytes} bytes in UTF-8`;
    if (/[/\\]/.test(word) || word.startsWith(".")) return `word "${word}" cannot be a file name (no '/', '\\' or leading '.')`;
    return "";
  }

  // draw.py's raw_line: the game's fields, a fresh 16-digit key_id, the country unknown (ZZ).
  function rawLine(drawing, word, recognized) {
    const digits = crypto.getRandomValues(new Uint32Array(16)), key = [1 + (digits[0] % 9)];
    for (let i = 1; i < 16; i++) key.push(digits[i] % 10);
    const timestamp = new Date().toISOString().replace("T", " ").replace(/Z$/, "000 UTC");
    return JSON.stringify({
      key_id: key.join(""), word, countrycode: setup.unknownCountry, timestamp, recognized, drawing,
    });
  }

  function download() {
    const file = new Blob(kept().map((line) => line + "\n"), {type: "application/x-ndjson"});
    const link = Object.assign(document.createElement("a"), {
      href: URL.createObjectURL(file), download: setup.saveName,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  }

  const ready = opened.then(() => "", (error) => {
    const hint = location.protocol === "file:" ? "; open the page through a web server (python -m http.server), not as a file" : "";
    throw new Error(`cannot load ${setup.model}: ${error.message || error}${hint}`);
  });
  return {ready, guess, save, kept: () => kept().length, download};
}
