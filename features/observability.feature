Feature: Observing runs
  Users who want to know what their commands do register an observe hook
  and are told, as it happens, that each command is planned, started, what
  it prints line by line and how it ended, with one id for everything about
  one command. The ready-made hooks log, count and trace the same events,
  and a hook that fails stops the run without leaving anything running.
  Both backends behave the same way.

  Scenario Outline: A hook follows a pipeline from plan to exit
    Given the <backend> backend moves the bytes
    And an observe hook that keeps every event
    When I run printf "b\na\n" piped into sort
    Then the hook saw plan, start and exit for each of the 2 stages
    And the hook saw the lines "a" and "b" from the last stage only
    And every event of one stage carries the same id

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: The ready-made hooks log, count and trace a command
    Given the <backend> backend moves the bytes
    And the logging, metrics and tracing hooks are registered
    When I run echo hello
    Then a log record says the command started and one says it exited
    And the metrics count 1 execution and 1 stdout line
    And one span named "cuprum.exec echo" ended with exit code 0

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |

  Scenario Outline: A hook that fails stops the run
    Given the <backend> backend moves the bytes
    And an observe hook that fails on the first line of output
    When I run yes piped into cat, expecting the hook's error
    Then the hook's error is raised within 10 seconds
    And no stage is left running

    Examples:
      | backend     |
      | pure-Python |
      | Rust        |
