Feature: Pipelines for real jobs
  Users compress files into files, read the output of a producer that never
  ends as it comes, give commands an environment and a directory, and ask
  for an exception when something fails. The bytes between files and
  stages never pass through Python, nothing is left running, and both
  backends behave the same way.

  Scenario Outline: Compress a file into another file
    Given the <backend> backend moves the bytes
    And a text file of 4 MiB
    When I run cat of that file piped into gzip -c, writing into a new file
    Then the pipeline succeeds
    And the new file decompresses to the text file
    And the result holds no output of its own

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: Read lines from a producer that never ends, then stop
    Given the <backend> backend moves the bytes
    When I read the lines of yes piped into cat as they come and stop after 5
    Then I have read 5 lines saying "y"
    And the pipeline succeeds
    And no stage is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: Run a command with an environment and a directory
    Given the <backend> backend moves the bytes
    And a directory to work in
    When I run a command that shows GREETING and where it runs, with GREETING set to "hello" in that directory
    Then the command saw GREETING "hello" and ran in that directory
    And my own environment has no GREETING

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A failing pipeline fails loudly when asked to
    Given the <backend> backend moves the bytes
    When I run printf "apples\npears\n" piped into grep plums, asking for a failure to be raised
    Then a PipelineError says stage 1 (grep plums) exited with status 1
    And the error is a CalledProcessError carrying the whole result
    And no stage is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |
