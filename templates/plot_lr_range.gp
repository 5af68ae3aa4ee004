reset
{{setup}}
set output '{{png}}'
set xlabel 'learning rate'
set ylabel 'cross-entropy loss'
set logscale x
set format x '%.0e'
set autoscale xfix
# when the loss diverges, lr_clip.tsv holds the y range of the smoothed loss
# before it did, so the descent and the suggestion stay readable
if ({{clip}}) {
	stats 'lr_clip.tsv' using 1 name 'LO' nooutput
	stats 'lr_clip.tsv' using 2 name 'HI' nooutput
	set yrange [LO_min:HI_max]
	set title 'Learning-rate range test (Adam, MLP 32); y axis clipped where the loss diverges'
} else {
	set title 'Learning-rate range test (Adam, MLP 32): loss while the rate grows; the suggestion marked'
}
plot 'lr_range.tsv' using 1:2 with lines lw 1 lc rgb '#9ec3e6' title columnheader(2), \
     '' using 1:3 with lines lw 2 lc rgb '#1f3f66' title columnheader(3), \
     'lr_mark.tsv' using 1:2 with points pt 7 ps 1.6 lc rgb '#c0392b' title 'suggested'
unset output
