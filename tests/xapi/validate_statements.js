// Validates xAPI statements with @learninglocker/xapi-validation (the test suite calls this).
// Input: JSON lines on standard input, one statement each. Output: a JSON array of
// {"index", "problems": [{"path", "type"}]} for every statement with warnings (empty: all valid).
"use strict";
const fs = require("fs");
const validate = require("@learninglocker/xapi-validation").default;

const lines = fs.readFileSync(0, "utf8").split("\n").filter((line) => line.trim() !== "");
const invalid = [];
lines.forEach((line, index) => {
  const warnings = validate(JSON.parse(line));
  if (warnings.length > 0) {
    invalid.push({
      index,
      problems: warnings.map((w) => ({ path: w.path, type: w.typeName || w.constructor.name })),
    });
  }
});
process.stdout.write(JSON.stringify(invalid));
