package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The expected lists are what Slurm 22.05.8's own parser prints for each form ({@code scontrol show hostnames 'FORM'},
 * run on this machine), except {@code n[1-2]x}: that scontrol refuses a suffix after a lone bracket, and the list is
 * what the suffix rule of the two-bracket form ({@code n[1-2]x[3-4]}, which it accepts) gives.
 */
class SlurmHostlistTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "localhost                | localhost",
        "a,b                      | a b",
        "gpu[01-04,07]            | gpu01 gpu02 gpu03 gpu04 gpu07",
        "n[1-2]x                  | n1x n2x",
        "n[1-2]x[3-4]             | n1x3 n1x4 n2x3 n2x4",
        "rack[1-2]-n[01-02],login | rack1-n01 rack1-n02 rack2-n01 rack2-n02 login",
        "n[8-11]                  | n8 n9 n10 n11",
        "n[098-101]               | n098 n099 n100 n101",
        "n[01-2]                  | n01 n02",
        "n[1-02]                  | n1 n2",
        "n[1-2],m                 | n1 n2 m",
        "x[3]                     | x3",
        "a-b[1-2]                 | a-b1 a-b2",
        "'a,,b'                   | a b",
    })
    void expandsEachFormAsSlurmDoes(String hostlist, String hosts) {
        List<String> expected = List.of(hosts.split(" "));
        assertEquals(expected, SlurmHostlist.expand(hostlist));
        assertEquals(expected.get(0), SlurmHostlist.first(hostlist));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "n[2-1]   | 'n[2-1]' has the range 2-1, which runs backwards",
        "n[]      | 'n[]' has '' in brackets; expected a number or a range such as 01-04",
        "n[a-b]   | 'n[a-b]' has 'a-b' in brackets",
        "n[1,,2]  | 'n[1,,2]' has '' in brackets",
        "n[-2]    | 'n[-2]' has '-2' in brackets",
        "n[1-2    | a '[' is never closed",
        "n1-2]    | a ']' without '[' at character 5",
        "n[[1]]   | a '[' inside brackets at character 3",
        "','      | it names no host",
        "n[0-99999999] | more than 1000000 hosts",
    })
    void refusesWhatIsNotAHostlist(String hostlist, String reason) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SlurmHostlist.expand(hostlist));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
