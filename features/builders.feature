Feature: Builders for git, rsync and tar
  Users build everyday git, rsync and tar commands by calling a function
  with typed arguments instead of assembling argument lists by hand. Paths
  and refs are checked when the command is built, so a value that came
  from a user or a file is never taken for an option, and nothing runs
  until the command is run.

  Scenario: Check out a new branch
    When I build a git checkout of "feature/login", creating the branch
    Then the command is "git checkout -b feature/login"

  Scenario Outline: Refs that git would read as options or revisions are refused
    When I build a git checkout of "<ref>"
    Then it is refused with "<reason>"

    Examples:
      | ref       | reason                                 |
      | --force   | GitRef cannot start with '-'           |
      | bad ref   | GitRef cannot contain whitespace       |
      | main..dev | GitRef cannot contain '..'             |
      | HEAD~1    | GitRef contains unsupported characters |

  Scenario: Mirror a directory with rsync
    Given a source directory and a destination directory
    When I build an rsync of the source into the destination, archiving and deleting
    Then the command is rsync --archive --delete, then the source, then the destination

  Scenario: Relative paths must be allowed first
    When I build a tar extract of "backup.tar"
    Then it is refused with "SafePath requires an absolute path by default"

  Scenario: A file named like an option stays a file
    When I build a tar extract of "-", allowing relative paths
    Then the command is "tar -x -f ./-"

  Scenario Outline: Archive a directory and restore it
    Given a directory holding "notes.txt" that says "copper"
    When I archive the directory with <compression> compression and run the command
    And I extract the archive into an empty directory and run the command
    Then the empty directory now holds "notes.txt" that says "copper"

    Examples:
      | compression |
      | no          |
      | gzip        |
      | xz          |

  Scenario: Ask git which commit a branch is on
    Given a git repository with one commit
    When I run the built git rev-parse of "HEAD" in the repository
    Then the output is the id of that commit
