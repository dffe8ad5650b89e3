package dev.adit.log;

import java.util.IdentityHashMap;
import java.util.Set;
import java.util.Collections;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FormatterPoolTest
{
    @Test
    void aFormatterIsLentToOneBorrowerAtATimeAndReusedWhenGivenBack()
    {
        FormatterPool pool = new FormatterPool(2);
        LineFormatter a = pool.acquire();
        LineFormatter b = pool.acquire();
        assertThat(a).isNotSameAs(b);
        pool.release(a);
        assertThat(pool.idle()).isEqualTo(1);
        assertThat(pool.acquire()).isSameAs(a);
        assertThat(pool.idle()).isZero();
    }

    @Test
    void moreBorrowersThanSlotsGetNewFormattersAndTheSurplusIsDropped()
    {
        FormatterPool pool = new FormatterPool(2);
        Set<LineFormatter> lent = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < 5; i++)
            lent.add(pool.acquire());
        assertThat(lent).hasSize(5);
        lent.forEach(pool::release);
        assertThat(pool.idle()).isEqualTo(2);
        LineFormatter first = pool.acquire();
        LineFormatter second = pool.acquire();
        assertThat(lent).contains(first, second);
        assertThat(pool.idle()).isZero();
    }

    @Test
    void aPoolHasAtLeastOneSlot()
    {
        assertThatThrownBy(() -> new FormatterPool(0)).hasMessage("size: 0 (expected: > 0)");
    }
}
