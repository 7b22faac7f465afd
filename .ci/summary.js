// Prints vitest's JSON report as one plain line ("N passed, N failed, N skipped") and fails
// when anything failed or was skipped: in CI a skipped integration test is a failure.
import fs from 'node:fs';

const report = JSON.parse(fs.readFileSync(process.argv[2] ?? 'test-results.json', 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numTotalTests === 0 || report.numFailedTests > 0 || skipped > 0 || !report.success) process.exit(1);
