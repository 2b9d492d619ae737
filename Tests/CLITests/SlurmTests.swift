import Foundation
import TestSupport
import XCTest

/// The README's Slurm recipe run for real on a one-node Slurm (Scripts/slurm-local): a 4-task job array of
/// `precompute --shard i/4` (Scripts/slurm-precompute.sbatch) over the test corpus through the demo model, one task
/// killed mid-run after a checkpoint, a merge that refuses while that shard is incomplete, the task resubmitted
/// alone (it resumes), the merge again; the merged records equal a single run's. Skipped, with the reason printed,
/// only where Slurm cannot start (not root, no Debian packages).
final class SlurmTests: XCTestCase {
    static let root = CLI.root.path

    func shell(_ command: String, _ environment: [String: String]) throws -> CLIResult {
        let result = try TestSupport.shell(command, environment)
        return CLIResult(status: result.status, stdout: result.output, stderr: result.output)
    }

    /// Waits until none of `jobs` is pending or running, then returns each job's states (one per array task).
    func wait(_ jobs: [String], _ environment: [String: String], timeout: TimeInterval = 300) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let queue = try shell("squeue -h -o %T -j \(jobs.joined(separator: ","))", environment)
            if queue.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let states = try jobs.flatMap { job -> [String] in
            let show = try shell("scontrol -o show job \(job)", environment)
            return show.stdout.split(separator: "\n").compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("JobState=") }.map { String($0.dropFirst(9)) }
            }
        }
        return states
    }

    func submit(_ arguments: String, _ environment: [String: String]) throws -> String {
        let result = try shell("sbatch --parsable \(arguments)", environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.split(separator: "\n").last.map(String.init)?.trimmingCharacters(
            in: .whitespacesAndNewlines
        ).split(separator: ";").first.map(String.init)
            ?? ""
    }

    func testSlurmArrayWithAKilledAndResubmittedTaskMergesToTheSingleRunsRecords() throws {
        let directory = try TestSupport.temporaryDirectory(self)
        let cluster = directory.appendingPathComponent("slurm").path
        let start = try shell("'\(Self.root)/Scripts/slurm-local' start '\(cluster)'", [:])
        guard start.status == 0 else {
            let reason = start.stderr.split(separator: "\n").last.map(String.init) ?? "no output"
            print("SlurmTests: skipped: Slurm cannot start here: \(reason)")
            throw XCTSkip("Slurm cannot start here: \(reason)")
        }
        defer { _ = try? shell("'\(Self.root)/Scripts/slurm-local' stop '\(cluster)'", [:]) }
        let shards = directory.appendingPathComponent("shards").path
        let logs = directory.appendingPathComponent("logs").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let extra = [
            "--tokenizer", CLI.tokenizer, "--pilot-excerpts", "40", "--top-k", "12", "--random-k", "9",
            "--quantile-k", "3", "--bottom-k", "5", "--batch", "1", "--checkpoint-seconds", "0",
        ]
        let model = Self.root + "/Models/sotu-gpt2", corpus = Self.root + "/Corpora/test-corpus"
        var environment = [
            "SLURM_CONF": cluster + "/slurm.conf", "MODEL": model, "CORPUS": corpus, "OUT": shards, "SHARDS": "4",
            "NB": CLI.executable.path, "EXTRA": extra.joined(separator: " "),
        ]
        let script = Self.root + "/Scripts/slurm-precompute.sbatch", merge = Self.root + "/Scripts/slurm-merge.sbatch"
        let output = "--output=\(logs)/%x-%A_%a.out"

        // Tasks 0, 1 and 3 run as they are; task 2 is killed after its 6th commit (past the pilot, mid main pass).
        let array = try submit("--array=0,1,3 \(output) \(script)", environment)
        environment["NEURONBENCH_KILL_AFTER_COMMIT"] = "6"
        let doomed = try submit("--array=2 \(output) \(script)", environment)
        environment["NEURONBENCH_KILL_AFTER_COMMIT"] = nil
        XCTAssertEqual(try wait([array], environment), ["COMPLETED", "COMPLETED", "COMPLETED"])
        XCTAssertEqual(try wait([doomed], environment), ["FAILED"], "SIGKILL ends the task with a failure")
        let status = try PrecomputeCLITests.tableDump(
            shards + "/shard-2.db", "SELECT value FROM metadata WHERE key = 'status'")
        XCTAssertFalse(status.contains("complete\""), "the killed shard is not complete: \(status)")

        // The merge refuses while a shard is incomplete, naming it, and writes nothing.
        let early = try submit(
            "--dependency=afterany:\(array):\(doomed) --output=\(logs)/merge-early.out \(merge)", environment)
        XCTAssertEqual(try wait([early], environment), ["FAILED"])
        let refusal = try String(contentsOfFile: logs + "/merge-early.out", encoding: .utf8)
        XCTAssertTrue(refusal.contains("shard-2.db"), refusal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shards + "/all.db"))

        // The failed task resubmitted alone resumes from its checkpoint; then the merge.
        let again = try submit("--array=2 --output=\(logs)/again-%a.out \(script)", environment)
        XCTAssertEqual(try wait([again], environment), ["COMPLETED"])
        let resumed = try String(contentsOfFile: logs + "/again-2.out", encoding: .utf8)
        XCTAssertTrue(resumed.lowercased().contains("resum"), resumed)
        let final = try submit("--dependency=afterok:\(again) --output=\(logs)/merge.out \(merge)", environment)
        XCTAssertEqual(
            try wait([final], environment), ["COMPLETED"],
            (try? String(contentsOfFile: logs + "/merge.out", encoding: .utf8)) ?? "")

        let single = directory.appendingPathComponent("single.db").path
        let reference = try runCLI(
            ["precompute", "--model", model, "--corpus", corpus, "--out", single] + extra)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        for query in [
            "SELECT * FROM neurons ORDER BY 1, 2",
            "SELECT * FROM excerpts ORDER BY 1",
        ] {
            XCTAssertEqual(
                try PrecomputeCLITests.tableDump(shards + "/all.db", query),
                try PrecomputeCLITests.tableDump(single, query), query)
        }
    }

    /// The Kubernetes recipe cannot run here; its YAML is parsed (PyYAML) and its fields checked.
    func testTheKubernetesIndexedJobRecipeIsValidYAMLWithTheRecipesFields() throws {
        let check = try shell(
            """
            python3 -c '
            import sys, yaml
            job = yaml.safe_load(open(sys.argv[1]))
            spec = job["spec"]
            assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", "not a batch/v1 Job"
            assert spec["completionMode"] == "Indexed", "not an Indexed Job"
            assert spec["completions"] == spec["parallelism"] == 8, "completions and parallelism are not 8"
            command = " ".join(spec["template"]["spec"]["containers"][0]["args"])
            assert "--shard $JOB_COMPLETION_INDEX/8" in command and "/data/shard-$JOB_COMPLETION_INDEX.db" in command, command
            print("ok")
            ' '\(Self.root)/Scripts/kubernetes-precompute.yaml'
            """, [:])
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertEqual(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", check.stdout)
    }
}
